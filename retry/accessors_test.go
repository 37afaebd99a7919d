package retry

import (
	"strings"
	"testing"
)

func TestName(t *testing.T) {
	base := MustNew(MaxTries(2))
	named, err := base.With(Name("inventory.get"))
	if err != nil {
		t.Fatal(err)
	}
	renamed, err := named.With(Name("inventory.put"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		p    *Policy
		want string
	}{
		{base, ""},
		{MustNew(Name("db.fetch")), "db.fetch"},
		{named, "inventory.get"},
		{renamed, "inventory.put"},
		{MustNew(Name("first"), Name("last")), "last"},
	} {
		if got := tc.p.Name(); got != tc.want {
			t.Errorf("Name() = %q, want %q", got, tc.want)
		}
	}
}

func TestNameNilPolicyPanics(t *testing.T) {
	defer func() {
		r := recover()
		if s, _ := r.(string); !strings.Contains(s, "nil *Policy") {
			t.Errorf("panic %v, want one naming the nil *Policy", r)
		}
	}()
	var p *Policy
	_ = p.Name()
}
