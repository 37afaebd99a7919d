package retry

import "testing"

func TestName(t *testing.T) {
	for _, tt := range []struct {
		p    *Policy
		want string
	}{
		{MustNew(), ""},
		{MustNew(Name("db.fetch")), "db.fetch"},
		{MustNew(Name("a"), Name("b")), "b"},
	} {
		if got := tt.p.Name(); got != tt.want {
			t.Errorf("Name() = %q, want %q", got, tt.want)
		}
	}
	derived, err := MustNew(Name("base")).With(Name("HTTP GET"))
	if err != nil || derived.Name() != "HTTP GET" {
		t.Errorf("With(Name(\"HTTP GET\")).Name() = %q, %v", derived.Name(), err)
	}
}
