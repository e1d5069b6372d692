package web

import (
	"testing"
	"time"

	"github.com/blogstack/blogstack/blog/internal/store"
)

// TestRateLimitKeys: a window blocks once it holds n attempts besides the
// one asking, until it ends; clients count by IPv4 address or IPv6 /64.
func TestRateLimitKeys(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := rateLimit{"test", 2, time.Minute}
	end := now.Add(30 * time.Second)
	for _, tt := range []struct {
		a       store.Attempts
		counted bool
		want    bool
	}{
		{store.Attempts{Count: 1, ExpiresAt: end}, false, false},
		{store.Attempts{Count: 2, ExpiresAt: end}, false, true},
		{store.Attempts{Count: 2, ExpiresAt: end}, true, false},
		{store.Attempts{Count: 3, ExpiresAt: end}, true, true},
		{store.Attempts{Count: 9, ExpiresAt: now}, false, false},
		{store.Attempts{}, false, false},
	} {
		wait, blocked := l.blocked(tt.a, tt.counted, now)
		if blocked != tt.want || (blocked && wait != 30*time.Second) {
			t.Errorf("%+v counted %v: blocked %v for %s, want %v (30s)", tt.a, tt.counted, blocked, wait, tt.want)
		}
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
