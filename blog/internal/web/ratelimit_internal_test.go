package web

import (
	"fmt"
	"testing"
	"time"
)

// TestLimiter: each key has its own window, blocked keys learn when to come
// back, windows expire, and the map never holds more than max keys.
func TestLimiter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLimiter(2, time.Minute, 100)
	l.now = func() time.Time { return now }
	l.add("a")
	now = now.Add(30 * time.Second)
	l.add("a")
	l.add("b")
	if wait, blocked := l.blocked("a"); !blocked || wait != 30*time.Second {
		t.Errorf("a after 2 events: blocked %v for %v, want 30s", blocked, wait)
	}
	if _, blocked := l.blocked("b"); blocked {
		t.Error("b is blocked by a's events")
	}
	now = now.Add(31 * time.Second)
	if _, blocked := l.blocked("a"); blocked {
		t.Error("a is still blocked after its window")
	}
	for i := range 1000 {
		l.add(fmt.Sprint("flood", i))
	}
	if n := l.size(); n > 100 {
		t.Errorf("%d keys held, want at most 100", n)
	}
	for in, want := range map[string]string{
		"203.0.113.9": "203.0.113.9", "::ffff:203.0.113.9": "203.0.113.9",
		"2001:db8:1:2:aaaa::1": "2001:db8:1:2::/64", "2001:db8:1:2:ffff:ffff:ffff:ffff": "2001:db8:1:2::/64",
	} {
		if got := clientKey(in); got != want {
			t.Errorf("clientKey(%s) = %s, want %s", in, got, want)
		}
	}
}
