package web

import (
	"sync"
	"time"
)

// limiter allows each key (a client IP) n events per window, counted in a
// fixed window: simple, bounded in memory, enough to slow down guessing and
// comment floods on one host.
type limiter struct {
	n      int
	window time.Duration

	mu     sync.Mutex
	counts map[string]int
	start  time.Time
}

func newLimiter(n int, window time.Duration) *limiter {
	return &limiter{n: n, window: window, counts: map[string]int{}}
}

// allow counts one event for key and reports whether it is within the limit.
func (l *limiter) allow(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now := time.Now(); now.Sub(l.start) >= l.window {
		l.start = now
		clear(l.counts)
	}
	l.counts[key]++
	return l.counts[key] <= l.n
}
