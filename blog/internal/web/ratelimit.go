package web

import (
	"net/netip"
	"sync"
	"time"
)

// limiter allows each key n events per window, the window starting at the
// key's first event (so one key's burst never resets another's count). The
// map holds at most max keys: when full, expired keys go first, then
// arbitrary ones, so a flood of new keys costs memory only up to max.
type limiter struct {
	n      int
	window time.Duration
	max    int
	now    func() time.Time

	mu   sync.Mutex
	keys map[string]*limitWindow
}

type limitWindow struct {
	start time.Time
	count int
}

func newLimiter(n int, window time.Duration, max int) *limiter {
	return &limiter{n: n, window: window, max: max, now: time.Now, keys: map[string]*limitWindow{}}
}

// current is key's live window, nil when it has none; callers hold mu.
func (l *limiter) current(key string, now time.Time) *limitWindow {
	w := l.keys[key]
	if w != nil && now.Sub(w.start) >= l.window {
		delete(l.keys, key)
		return nil
	}
	return w
}

// blocked reports whether key has used up its events and, if so, how long
// until it may try again.
func (l *limiter) blocked(key string) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if w := l.current(key, now); w != nil && w.count >= l.n {
		return w.start.Add(l.window).Sub(now), true
	}
	return 0, false
}

// add counts one event for key.
func (l *limiter) add(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	w := l.current(key, now)
	if w == nil {
		l.makeRoom(now)
		w = &limitWindow{start: now}
		l.keys[key] = w
	}
	w.count++
}

// allow counts one event for key and reports whether it is within the
// limit, and if not, how long until it is.
func (l *limiter) allow(key string) (time.Duration, bool) {
	if wait, blocked := l.blocked(key); blocked {
		return wait, false
	}
	l.add(key)
	return 0, true
}

// reset forgets key, as after a successful sign-in.
func (l *limiter) reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.keys, key)
}

// makeRoom keeps the map under max keys; callers hold mu.
func (l *limiter) makeRoom(now time.Time) {
	if len(l.keys) < l.max {
		return
	}
	for k, w := range l.keys {
		if now.Sub(w.start) >= l.window {
			delete(l.keys, k)
		}
	}
	for k := range l.keys {
		if len(l.keys) < l.max {
			break
		}
		delete(l.keys, k)
	}
}

// size is how many keys the limiter holds.
func (l *limiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.keys)
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
