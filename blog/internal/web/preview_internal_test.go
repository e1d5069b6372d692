package web

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestPreviewGate: one preview renders at a time per session; a newer
// request supersedes the one waiting, which gives up at once; the session
// map empties when nothing is in flight.
func TestPreviewGate(t *testing.T) {
	g := newPreviewGate()
	ctx := context.Background()
	release, err := g.enter(ctx, "s")
	if err != nil {
		t.Fatal(err)
	}
	users := func() int {
		g.mu.Lock()
		defer g.mu.Unlock()
		if ps := g.sessions["s"]; ps != nil {
			return ps.users
		}
		return 0
	}
	waitFor := func(n int) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); users() != n; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%d requests in flight, want %d", users(), n)
			}
		}
	}
	type result struct {
		release func()
		err     error
	}
	enter := func() chan result {
		c := make(chan result, 1)
		go func() {
			r, err := g.enter(ctx, "s")
			c <- result{r, err}
		}()
		return c
	}

	second := enter()
	waitFor(2)
	select {
	case r := <-second:
		t.Fatalf("a second preview of the session did not wait: %v", r.err)
	case <-time.After(50 * time.Millisecond):
	}
	third := enter()
	if r := <-second; !errors.Is(r.err, errSuperseded) {
		t.Fatalf("the waiting preview, superseded: %v", r.err)
	}
	// Another session is not held up by this one.
	other, err := g.enter(ctx, "other")
	if err != nil {
		t.Fatal(err)
	}
	other()
	release()
	r := <-third
	if r.err != nil {
		t.Fatalf("the newest preview: %v", r.err)
	}
	r.release()

	gone, cancel := context.WithCancel(ctx)
	cancel()
	hold, _ := g.enter(ctx, "s")
	if _, err := g.enter(gone, "s"); !errors.Is(err, context.Canceled) {
		t.Errorf("a request whose client went away: %v", err)
	}
	hold()
	if len(g.sessions) != 0 {
		t.Errorf("%d sessions left in the gate, want none", len(g.sessions))
	}
}
