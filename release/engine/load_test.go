package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// load is a bounded load of readers through Caddy, each sending requests
// one after another with a short pause, and bursts of parallel requests as
// a page view makes: clients that keep their connections
// and speak HTTP/2 (as browsers do over TLS), one that keeps HTTP/1.1
// connections, one that opens a new HTTP/1.1 connection for every request,
// and one that sends POST requests, which neither Go's transport nor Caddy
// may send again when a connection to the app closes under them (the app
// answers 405: POST / is no route). It counts every status and every socket
// error, and which release served each page (by its title; see
// testdata/shim).
type load struct {
	t      *testing.T
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	start    time.Time
	failures []string // the first few failed requests, when and how
	statuses map[int]int
	errs     map[string]int
	titles   map[string]int
	total    int
	resent   int
	posts    int // answered 405, as they should
}

var titleRE = regexp.MustCompile(`<title>([^<]*)</title>`)

// startLoad starts the readers; stop them with stop. It runs at most two
// minutes, whatever happens.
func (h *testHost) startLoad() *load {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	l := &load{t: h.t, cancel: cancel, start: time.Now(), statuses: map[int]int{}, errs: map[string]int{}, titles: map[string]int{}}
	readers := []struct {
		name   string
		client *http.Client
		method string
	}{
		{"h2", h.client(true, true), http.MethodGet},
		{"h2", h.client(true, true), http.MethodGet},
		{"h1-keep-alive", h.client(true, false), http.MethodGet},
		{"h1-new-conn", h.client(false, false), http.MethodGet},
		{"h1-post", h.client(true, false), http.MethodPost},
	}
	for _, r := range readers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for ctx.Err() == nil {
				l.once(ctx, r.client, r.name, r.method)
				select {
				case <-ctx.Done():
				case <-time.After(10 * time.Millisecond):
				}
			}
		}()
	}
	// A page view that loads several things at once: a burst of parallel
	// requests, a few seconds apart. Caddy has fewer idle connections to
	// the app than the burst needs (it drops them after 2s idle), so it
	// dials new ones, and each dial asks Docker's DNS which containers
	// carry the alias: a container that got it too early would be found.
	burst := h.client(true, true)
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		for ctx.Err() == nil {
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() { l.once(ctx, burst, "h2-burst", http.MethodGet) })
			}
			wg.Wait()
			select {
			case <-ctx.Done():
			case <-time.After(2500 * time.Millisecond):
			}
		}
	}()
	h.t.Cleanup(func() { cancel(); l.wg.Wait() })
	return l
}

// once sends one request and counts what came of it: a GET must get 200,
// a POST 405. Like a browser, Go's client sends a GET again on a new
// connection when the server closed a kept-alive one before answering;
// such a request is counted as resent, not failed: a reader never sees it.
func (l *load) once(ctx context.Context, c *http.Client, reader, method string) {
	conns := 0
	trace := &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) { conns++ }}
	req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), method, "https://"+testDomain+"/", nil)
	resp, err := c.Do(req)
	var page []byte
	if err == nil {
		page, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if ctx.Err() != nil && (err != nil || errors.Is(err, context.Canceled)) {
		return // stopped mid-request: not the server's doing
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total++
	if conns > 1 {
		l.resent++
	}
	if err != nil {
		l.errs[reader+" "+errorKind(err)]++
		l.failed(reader, err.Error())
		return
	}
	if method == http.MethodPost {
		if resp.StatusCode != http.StatusMethodNotAllowed {
			l.statuses[resp.StatusCode]++ // counted as failed below
			l.failed(reader, fmt.Sprintf("%s %.100q", resp.Status, page))
		}
		l.posts++
		return
	}
	l.statuses[resp.StatusCode]++
	if resp.StatusCode != http.StatusOK {
		l.failed(reader, fmt.Sprintf("%s %.100q", resp.Status, page))
	}
	if m := titleRE.FindSubmatch(page); m != nil {
		l.titles[releaseOf(string(m[1]))]++
	}
}

// failed keeps what a failed request got, for the first ten; l.mu is held.
func (l *load) failed(reader, what string) {
	if len(l.failures) < 10 {
		l.failures = append(l.failures, fmt.Sprintf("%s after %s: %s %s", time.Now().Format("15:04:05.000"), time.Since(l.start).Round(time.Millisecond), reader, what))
	}
}

// releaseOf names the release that served a page from its title: the
// derived releases put "Blog <tag>" in it (testdata/shim), v1 has the
// compose file's "Blog".
func releaseOf(title string) string {
	if i := strings.LastIndex(title, "Blog "); i >= 0 {
		return title[i+len("Blog "):]
	}
	return "v1"
}

// errorKind shortens a client error to what went wrong on the socket.
func errorKind(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		s = s[i+2:]
	}
	return s
}

// result is what the readers saw.
type result struct {
	total, failed, resent int
	statuses              map[int]int
	errs                  map[string]int
	titles                map[string]int
}

// stop stops the readers, logs the counts (the run log shows them for every
// cut-over) and returns them.
func (l *load) stop(during string) result {
	l.t.Helper()
	l.cancel()
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	r := result{total: l.total, resent: l.resent, statuses: l.statuses, errs: l.errs, titles: l.titles}
	for code, n := range l.statuses {
		if code != http.StatusOK {
			r.failed += n
		}
	}
	for _, n := range l.errs {
		r.failed += n
	}
	l.t.Logf("load %s: %d requests, %d failed; statuses %s (and %d POST 405); socket errors %s; resent on a closed kept-alive connection %d; served by %s",
		during, r.total, r.failed, counts(r.statuses), l.posts, counts(r.errs), r.resent, counts(r.titles))
	return r
}

// mustNotFail stops the readers and fails the test if any request failed,
// or if too few were sent to prove anything.
func (l *load) mustNotFail(during string) result {
	l.t.Helper()
	r := l.stop(during)
	if r.total < 100 {
		l.t.Errorf("only %d requests %s; the load proves little", r.total, during)
	}
	if r.failed > 0 {
		l.mu.Lock()
		first := strings.Join(l.failures, "\n    ")
		l.mu.Unlock()
		l.t.Errorf("%d of %d requests failed %s; the first:\n    %s", r.failed, r.total, during, first)
	}
	return r
}

func counts[K comparable](m map[K]int) string {
	var parts []string
	for k, n := range m {
		parts = append(parts, fmt.Sprintf("%v=%d", k, n))
	}
	slices.Sort(parts)
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, " ")
}
