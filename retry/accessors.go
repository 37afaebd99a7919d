package retry

// Name returns the policy's operation name (the Name option), "" when unset.
func (p *Policy) Name() string { return p.name }
