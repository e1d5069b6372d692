package web

import (
	"net/netip"
	"time"

	"github.com/blogstack/blogstack/blog/internal/store"
)

// Rate limits count in the store (table attempts), not in this process:
// with several instances behind a round-robin load balancer, counts kept
// per process would give a client N times the allowance. Each key's window
// starts at its first attempt, so one key's burst never resets another's.
// Comments count there too although they are held for moderation (N times
// 5 would be harmless): a comment writes two rows anyway, one more upsert
// costs nothing that matters, and one way of limiting is simpler than two.
type rateLimit struct {
	name   string        // prefixes the keys in the store
	n      int           // attempts allowed per window
	window time.Duration // from a key's first attempt
}

// Sign-in throttling: failed attempts count per client (IPv4 address or
// IPv6 /64) and per account, each in its own window, so that neither many
// addresses against one account nor one address against many accounts
// guesses freely. Successful sign-ins do not count; windows end, so no
// account is ever locked out for good. Both share one window length, so
// that one upsert counts an attempt against both.
const loginWindow = 15 * time.Minute

var (
	loginClientLimit  = rateLimit{"login-client", 20, loginWindow}
	loginAccountLimit = rateLimit{"login-account", 10, loginWindow}
	commentLimit      = rateLimit{"comment", 5, 10 * time.Minute}
)

// key is the store's key for k under this limit.
func (l rateLimit) key(k string) string { return l.name + ":" + k }

// blocked reports whether an attempt may not go on against the window a of
// this limit, and if so how long until it may. counted says whether a
// already includes the attempt.
func (l rateLimit) blocked(a store.Attempts, counted bool, now time.Time) (time.Duration, bool) {
	n := a.Count
	if counted {
		n--
	}
	if n < l.n || !a.ExpiresAt.After(now) {
		return 0, false
	}
	return a.ExpiresAt.Sub(now), true
}

// clientKey is what per-client limits count by: the IPv4 address, or the
// IPv6 /64 (one subscriber's network: a host that has one /64 has all of
// its addresses).
func clientKey(ip string) string {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	addr = addr.Unmap()
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return p.String()
	}
	return addr.String()
}
