package store_test

import (
	"sync"
	"testing"
	"time"

	"github.com/blogstack/blogstack/blog/internal/store"
	"github.com/blogstack/blogstack/blog/internal/store/storetest"
)

// TestAttempts: each key counts in its own window from its first attempt;
// a window that ended starts over; attempts taken back or forgotten no
// longer count; the sweep removes ended windows only.
func TestAttempts(t *testing.T) {
	for _, db := range storetest.Each(t) {
		t.Run(db.Name, func(t *testing.T) {
			s := db.MustOpen(t)
			now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
			s.Now = func() time.Time { return now }
			const window = 15 * time.Minute

			got := add(t, s, window, "a", "b")
			if got["a"].Count != 1 || got["b"].Count != 1 || !got["a"].ExpiresAt.Equal(now.Add(window)) {
				t.Fatalf("first attempt: %+v", got)
			}
			now = now.Add(5 * time.Minute)
			add(t, s, window, "a")
			got = add(t, s, window, "a", "c")
			if got["a"].Count != 3 || !got["a"].ExpiresAt.Equal(now.Add(window-5*time.Minute)) || got["c"].Count != 1 {
				t.Errorf("a's window runs from its first attempt, c's from now: %+v", got)
			}
			if err := s.RemoveAttempt(ctx(), "a", "missing"); err != nil {
				t.Fatal(err)
			}
			if err := s.DeleteAttempts(ctx(), "c"); err != nil {
				t.Fatal(err)
			}
			live, err := s.Attempts(ctx(), "a", "b", "c", "missing")
			if err != nil {
				t.Fatal(err)
			}
			if len(live) != 2 || live["a"].Count != 2 || live["b"].Count != 1 {
				t.Errorf("after taking one of a's back and forgetting c: %+v", live)
			}

			// b's window ends 15 minutes after its first attempt; a new
			// attempt starts a fresh one.
			now = now.Add(10 * time.Minute)
			if live, _ := s.Attempts(ctx(), "a", "b"); len(live) != 0 {
				t.Errorf("windows still live after they ended: %+v", live)
			}
			if got := add(t, s, window, "b"); got["b"].Count != 1 || !got["b"].ExpiresAt.Equal(now.Add(window)) {
				t.Errorf("an attempt after the window: %+v, want a new window", got["b"])
			}
			n, err := s.DeleteExpiredAttempts(ctx())
			if err != nil || n != 1 {
				t.Errorf("sweep deleted %d (%v), want a's window only", n, err)
			}
			if live, _ := s.Attempts(ctx(), "b"); live["b"].Count != 1 {
				t.Errorf("the sweep took b's live window: %+v", live)
			}
		})
	}
}

// TestAttemptsConcurrent: attempts made at once through two stores on one
// database, as two app instances make them, are each counted once.
func TestAttemptsConcurrent(t *testing.T) {
	for _, db := range storetest.Each(t) {
		t.Run(db.Name, func(t *testing.T) {
			stores := []*store.Store{db.MustOpen(t), db.Open(t)}
			const per = 25
			var wg sync.WaitGroup
			errs := make(chan error, 2*per)
			counts := make(chan int, 2*per)
			for _, s := range stores {
				for range per {
					wg.Go(func() {
						got, err := s.AddAttempt(ctx(), time.Minute, "client", "account")
						errs <- err
						counts <- got["account"].Count
					})
				}
			}
			wg.Wait()
			close(errs)
			close(counts)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			seen := map[int]bool{}
			for c := range counts {
				seen[c] = true
			}
			live, err := stores[1].Attempts(ctx(), "client", "account")
			if err != nil {
				t.Fatal(err)
			}
			if live["client"].Count != 2*per || live["account"].Count != 2*per || len(seen) != 2*per {
				t.Errorf("%d attempts at once: counts %+v, %d distinct answers; want each counted once", 2*per, live, len(seen))
			}
		})
	}
}

func add(t *testing.T, s *store.Store, window time.Duration, keys ...string) map[string]store.Attempts {
	t.Helper()
	got, err := s.AddAttempt(ctx(), window, keys...)
	if err != nil {
		t.Fatal(err)
	}
	return got
}
