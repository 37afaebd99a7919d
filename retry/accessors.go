package retry

// Name returns the operation name set with the Name option, "" when none was set. A
// wrapper that names calls after what they do (an HTTP method, a gRPC method) reads it to
// leave a name the user chose alone:
//
//	if policy.Name() == "" {
//		policy, _ = policy.With(retry.Name("/pkg.Svc/Method"))
//	}
func (p *Policy) Name() string {
	if p == nil {
		panic("retry: Name called on a nil *Policy (build one with retry.New)")
	}
	return p.name
}
