package release

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

const (
	adminEmail    = "admin@example.com"
	adminPassword = "Tq8-several-instances-Zw3v"
)

// TestCaddyInFrontOfThreeBlogs runs what a load balancer in front of
// several app instances runs (Fargate tasks behind the ALB, or two blogs
// during a host's cut-over): three `blog serve` processes on one
// PostgreSQL database behind Caddy on the production Caddyfile, with
// readers loading pages through Caddy the whole time. A write through any
// instance shows on the very next request to each of the others; a
// session started on one works on all and ends on all; the sign-in limits
// count across instances; SIGTERM to one loses no request; and no reader's
// request fails at any point.
func TestCaddyInFrontOfThreeBlogs(t *testing.T) {
	caddyBinary(t) // skip before building the blog when Caddy is missing
	blogBinary(t)
	db := testDatabaseURL(t)
	env := []string{
		"BLOG_SHUTDOWN_DELAY=2s",
		// Every instance signs and checks the same comment tokens.
		"BLOG_SECRET_KEY=" + strings.Repeat("s", 32),
		"BLOG_ADMIN_EMAIL=" + adminEmail, "BLOG_ADMIN_PASSWORD=" + adminPassword,
		// The test sends client addresses in X-Forwarded-For, as a proxy does.
		"BLOG_TRUSTED_PROXIES=127.0.0.1/32",
	}
	var blogs []*blogServer
	for range 3 {
		blogs = append(blogs, startBlogOn(t, db, env...))
	}
	caddy := startCaddy(t, blogs[0].addr+" "+blogs[1].addr+" "+blogs[2].addr)
	load := startReaders(caddy.url, 4)
	defer load.stop()

	t.Run("a write shows on the next request to every other instance", func(t *testing.T) {
		session := signIn(t, blogs[2].url, adminEmail, adminPassword, "198.51.100.1")
		for i := range 6 {
			w := i % len(blogs)
			title := fmt.Sprintf("Written through instance %d in round %d", w, i)
			for _, b := range blogs {
				get(t, b.url+"/", "") // every instance has the home page cached
			}
			resp, _ := send(t, http.MethodPost, blogs[w].url+"/admin/posts",
				url.Values{"title": {title}, "body": {"Said once, seen everywhere."}, "status": {"published"}}, session)
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("publishing through instance %d: %s", w, resp.Status)
			}
			for j, b := range blogs {
				if _, body := get(t, b.url+"/", ""); j != w && !strings.Contains(body, title) {
					t.Errorf("round %d: instance %d's home page, requested right after instance %d published, lacks the post", i, j, w)
				}
			}
		}

		// Comments wait for moderation; approving one shows it everywhere.
		post := "/posts/written-through-instance-0-in-round-0"
		var tokens []string
		for _, b := range blogs {
			_, body := get(t, b.url+post, "")
			m := regexp.MustCompile(`name="token" value="([^"]+)"`).FindStringSubmatch(body)
			if m == nil {
				t.Fatalf("no comment form on %s", post)
			}
			tokens = append(tokens, m[1])
		}
		time.Sleep(3100 * time.Millisecond) // forms sent sooner look like bots
		for i, token := range tokens {
			resp, body := send(t, http.MethodPost, blogs[i].url+post+"/comments",
				url.Values{"token": {token}, "name": {"Reader"}, "body": {fmt.Sprintf("Comment number %d", i)}}, "",
				"X-Forwarded-For", fmt.Sprintf("192.0.2.%d", i+1))
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("comment %d through instance %d: %s\n%.500s", i, i, resp.Status, body)
			}
		}
		_, moderation := get(t, blogs[0].url+"/admin/comments", session)
		var ids []string // each form names its comment twice (action, hx-post)
		for _, m := range regexp.MustCompile(`/admin/comments/(\d+)/approve`).FindAllStringSubmatch(moderation, -1) {
			if !slices.Contains(ids, m[1]) {
				ids = append(ids, m[1])
			}
		}
		if len(ids) != len(tokens) {
			t.Fatalf("%d comments to moderate, want %d", len(ids), len(tokens))
		}
		for i, id := range ids {
			w := i % len(blogs)
			for _, b := range blogs {
				get(t, b.url+post, "")
			}
			resp, _ := send(t, http.MethodPost, blogs[w].url+"/admin/comments/"+id+"/approve", nil, session)
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("approving through instance %d: %s", w, resp.Status)
			}
			_, comments := get(t, blogs[w].url+"/admin/comments", session)
			if strings.Contains(comments, "/admin/comments/"+id+"/approve") {
				t.Fatalf("comment %s still waits after approval", id)
			}
			for j, b := range blogs {
				_, page := get(t, b.url+post, "")
				if approved := strings.Count(page, "Comment number "); j != w && approved != i+1 {
					t.Errorf("approval %d: instance %d's post page, requested right after instance %d approved, shows %d comments", i+1, j, w, approved)
				}
			}
		}
	})

	t.Run("a session works on every instance and ends on all", func(t *testing.T) {
		session := signIn(t, blogs[0].url, adminEmail, adminPassword, "198.51.100.2")
		for i, u := range []string{blogs[0].url, blogs[1].url, blogs[2].url, caddy.url} {
			if resp, _ := get(t, u+"/admin", session); resp.StatusCode != http.StatusOK {
				t.Errorf("the session from instance 0 on %d (%s): %s, want 200", i, u, resp.Status)
			}
		}
		if resp, _ := send(t, http.MethodPost, blogs[1].url+"/logout", nil, session); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("signing out through instance 1: %s", resp.Status)
		}
		for i, u := range []string{blogs[0].url, blogs[1].url, blogs[2].url, caddy.url} {
			if resp, _ := get(t, u+"/admin", session); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
				t.Errorf("the session signed out on instance 1, on %d (%s): %s to %q, want 303 to /login", i, u, resp.Status, resp.Header.Get("Location"))
			}
		}
	})

	t.Run("sign-in limits count across instances", func(t *testing.T) {
		// Ten failures for one account, spread over the instances from
		// ten addresses: every instance then refuses the account.
		for i := range 10 {
			resp := tryPassword(t, blogs[i%3].url, "nobody@example.com", "wrong", fmt.Sprintf("203.0.113.%d", i+1))
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("failure %d for the account: %s, want 401", i+1, resp.Status)
			}
		}
		for i, b := range blogs {
			resp := tryPassword(t, b.url, "nobody@example.com", "wrong", "203.0.113.99")
			if retry, _ := strconv.Atoi(resp.Header.Get("Retry-After")); resp.StatusCode != http.StatusTooManyRequests || retry < 1 {
				t.Errorf("the account after 10 failures over three instances, on instance %d: %s, Retry-After %q; want 429", i, resp.Status, resp.Header.Get("Retry-After"))
			}
		}

		// Twenty failures from one address, other accounts each time.
		for i := range 20 {
			if resp := tryPassword(t, blogs[i%3].url, fmt.Sprintf("someone%d@example.com", i), "wrong", "203.0.113.200"); resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("failure %d from one address: %s, want 401", i+1, resp.Status)
			}
		}
		if resp := tryPassword(t, blogs[1].url, "someone-else@example.com", "wrong", "203.0.113.200"); resp.StatusCode != http.StatusTooManyRequests {
			t.Errorf("the address after 20 failures over three instances: %s, want 429", resp.Status)
		}

		// Thirty guesses at once over the three: ten are tried in all.
		var (
			wg    sync.WaitGroup
			mu    sync.Mutex
			count = map[int]int{}
		)
		for i := range 30 {
			wg.Go(func() {
				status := 0
				if resp, _, err := do(http.MethodPost, blogs[i%3].url+"/login",
					url.Values{"email": {"guessed@example.com"}, "password": {fmt.Sprint("guess ", i)}}, "",
					"X-Forwarded-For", fmt.Sprintf("198.18.0.%d", i+1)); err == nil {
					status = resp.StatusCode
				}
				mu.Lock()
				count[status]++
				mu.Unlock()
			})
		}
		wg.Wait()
		if count[http.StatusUnauthorized] != 10 || count[http.StatusTooManyRequests] != 20 {
			t.Errorf("30 guesses at once over three instances: %v by status, want 10 tried (401) and 20 refused (429)", count)
		}
	})

	t.Run("SIGTERM to one loses no request", func(t *testing.T) {
		before := load.total.Load()
		if err := blogs[0].cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case <-blogs[0].done:
		case <-time.After(30 * time.Second):
			t.Fatal("the blog did not exit within 30s of SIGTERM")
		}
		time.Sleep(time.Second) // requests after it is gone
		if n := load.total.Load() - before; n < 50 {
			t.Errorf("only %d requests while one instance stopped: too few to prove anything", n)
		}
	})

	n, failures := load.stop()
	t.Logf("%d requests through Caddy during the test, %d failed", n, len(failures))
	if n < 100 {
		t.Errorf("only %d requests through Caddy during the test: too few to be a load", n)
	}
	if len(failures) > 0 {
		t.Errorf("%d of %d requests through Caddy failed, first: %v", len(failures), n, failures[:min(5, len(failures))])
	}
}

// readers load pages through the proxy until stopped: cached ones, and
// searches no one made before, which an instance must answer from the
// database. Every answer must be a 200.
type readers struct {
	total    atomic.Int64
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	mu       sync.Mutex
	failures []string
	once     sync.Once
}

func startReaders(base string, n int) *readers {
	ctx, cancel := context.WithCancel(context.Background())
	r := &readers{cancel: cancel}
	var searches atomic.Int64
	for c := range n {
		r.wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				path := []string{"/", "/feed.atom", "/search?q=gopher"}[(i+c)%3]
				if i%4 == 0 {
					path = fmt.Sprintf("/search?q=in+flight+%d", searches.Add(1))
				}
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
				resp, err := plainClient.Do(req)
				if ctx.Err() != nil {
					return // stopped mid-request: not the server's failure
				}
				r.total.Add(1)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err == nil && resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("%s", resp.Status)
					}
				}
				if err != nil {
					r.mu.Lock()
					r.failures = append(r.failures, fmt.Sprintf("GET %s: %v", path, err))
					r.mu.Unlock()
				}
			}
		})
	}
	return r
}

// stop ends the load and returns how many requests were made and which
// failed.
func (r *readers) stop() (int64, []string) {
	r.once.Do(func() {
		r.cancel()
		r.wg.Wait()
	})
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.total.Load(), r.failures
}

// do sends a request as a same-origin browser form would, with the session
// cookie when there is one and extra headers in pairs.
func do(method, u string, form url.Values, session string, headers ...string) (*http.Response, string, error) {
	req, err := http.NewRequest(method, u, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, "", err
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	if session != "" {
		req.Header.Set("Cookie", "session="+session)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := plainClient.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, string(body), err
}

// send is do that fails the test on a transport error.
func send(t testing.TB, method, u string, form url.Values, session string, headers ...string) (*http.Response, string) {
	t.Helper()
	resp, body, err := do(method, u, form, session, headers...)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	return resp, body
}

func get(t testing.TB, u, session string) (*http.Response, string) {
	t.Helper()
	return send(t, http.MethodGet, u, nil, session)
}

// tryPassword signs in from a client address and returns the answer.
func tryPassword(t testing.TB, base, email, password, from string) *http.Response {
	t.Helper()
	resp, _ := send(t, http.MethodPost, base+"/login", url.Values{"email": {email}, "password": {password}}, "", "X-Forwarded-For", from)
	return resp
}

// signIn signs in and returns the session cookie's value.
func signIn(t testing.TB, base, email, password, from string) string {
	t.Helper()
	resp := tryPassword(t, base, email, password, from)
	for _, c := range resp.Cookies() {
		if c.Name == "session" && resp.StatusCode == http.StatusSeeOther {
			return c.Value
		}
	}
	t.Fatalf("signing in on %s: %s, no session cookie", base, resp.Status)
	return ""
}
