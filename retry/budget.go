package retry

// PLACEHOLDER(issue 3): the real sliding-window budget replaces this file.

// Budget is a retry budget shared by any number of policies.
type Budget struct{ allow bool }

// NewBudget returns a budget.
func NewBudget(ratio float64, minPerSecond int) *Budget {
	return &Budget{allow: ratio > 0 || minPerSecond > 0}
}

func (b *Budget) check() error     { return nil }
func (b *Budget) onCall()          {}
func (b *Budget) allowRetry() bool { return b.allow }
