package release

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestCaddySIGTERMOneOfTwoBlogs puts Caddy on the production Caddyfile in
// front of two blog processes (the upstream list the network alias resolves
// to during a cut-over) and stops one with SIGTERM while readers load
// pages: cached ones, and searches no one made before, which the stopping
// blog must finish from the database. No request may fail.
func TestCaddySIGTERMOneOfTwoBlogs(t *testing.T) {
	caddyBinary(t) // skip before building the blog when Caddy is missing
	stopping := startBlog(t, "BLOG_SHUTDOWN_DELAY=2s")
	staying := startBlog(t, "BLOG_SHUTDOWN_DELAY=2s")
	caddy := startCaddy(t, stopping.addr+" "+staying.addr)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var (
		stop     atomic.Bool
		wg       sync.WaitGroup
		mu       sync.Mutex
		failures []string
		total    atomic.Int64
		search   atomic.Int64
	)
	for c := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load() && ctx.Err() == nil; i++ {
				path := []string{"/", "/feed.atom", "/search?q=gopher"}[(i+c)%3]
				if i%4 == 0 {
					path = fmt.Sprintf("/search?q=in+flight+%d", search.Add(1))
				}
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, caddy.url+path, nil)
				resp, err := plainClient.Do(req)
				total.Add(1)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err == nil && resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("%s", resp.Status)
					}
				}
				if err != nil {
					mu.Lock()
					failures = append(failures, fmt.Sprintf("GET %s: %v", path, err))
					mu.Unlock()
				}
			}
		}()
	}

	time.Sleep(time.Second)
	before := total.Load()
	if err := stopping.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-stopping.done:
	case <-time.After(30 * time.Second):
		t.Fatal("the blog did not exit within 30s of SIGTERM")
	}
	time.Sleep(time.Second) // requests after it is gone
	stop.Store(true)
	wg.Wait()

	n := total.Load()
	t.Logf("%d requests (%d before SIGTERM), %d failed", n, before, len(failures))
	if before < 20 || n-before < 50 {
		t.Errorf("too few requests (%d before SIGTERM, %d after) to prove anything", before, n-before)
	}
	if len(failures) > 0 {
		t.Errorf("%d of %d requests failed while one blog stopped, first: %v", len(failures), n, failures[:min(5, len(failures))])
	}
}
