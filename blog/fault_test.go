package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// pgCluster is a private PostgreSQL server that a test may stop and start,
// on its own port and folder, never the shared one.
type pgCluster struct {
	t    *testing.T
	bin  string
	dir  string
	port int
	cred *syscall.Credential // PostgreSQL refuses to run as root
}

// privatePostgres initdb's a cluster and starts it. Without PostgreSQL's
// server binaries the test is skipped, or fails when CI is set.
func privatePostgres(t *testing.T) *pgCluster {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("CI is set and PostgreSQL's initdb is not installed (/usr/lib/postgresql/*/bin)")
		}
		t.Skip("PostgreSQL's server binaries (initdb, pg_ctl) are not installed: the fault test is skipped")
	}
	c := &pgCluster{t: t, bin: filepath.Dir(bins[len(bins)-1])}
	root, err := os.MkdirTemp("", "blog-fault-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	c.dir = filepath.Join(root, "data")
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Skip("running as root and no postgres user to run a private cluster as")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(root, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	addr := freeAddr(t)
	c.port, _ = strconv.Atoi(addr[strings.LastIndexByte(addr, ':')+1:])
	c.run("initdb", "-D", c.dir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
	conf := fmt.Sprintf("listen_addresses = '127.0.0.1'\nport = %d\nunix_socket_directories = '%s'\nfsync = off\nmax_connections = 50\n", c.port, root)
	if err := os.WriteFile(filepath.Join(c.dir, "postgresql.auto.conf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	if c.cred != nil {
		_ = os.Chown(filepath.Join(c.dir, "postgresql.auto.conf"), int(c.cred.Uid), int(c.cred.Gid))
	}
	c.start()
	t.Cleanup(func() { _ = c.ctl("stop", "-m", "immediate") })
	return c
}

func (c *pgCluster) url() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
}

func (c *pgCluster) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(c.bin, name), args...)
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	return cmd
}

func (c *pgCluster) run(name string, args ...string) {
	c.t.Helper()
	if out, err := c.command(name, args...).CombinedOutput(); err != nil {
		c.t.Fatalf("%s: %v\n%s", name, err, out)
	}
}

func (c *pgCluster) ctl(args ...string) error {
	args = append(args, "-D", c.dir, "-w", "-t", "30", "-l", filepath.Join(filepath.Dir(c.dir), "log"))
	out, err := c.command("pg_ctl", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl %s: %v\n%s", args[0], err, out)
	}
	return nil
}

func (c *pgCluster) start() {
	c.t.Helper()
	if err := c.ctl("start"); err != nil {
		c.t.Fatal(err)
	}
}

func (c *pgCluster) stop() {
	c.t.Helper()
	if err := c.ctl("stop", "-m", "fast"); err != nil {
		c.t.Fatal(err)
	}
}

// syncWriter lets the server's log lines arrive from many goroutines.
type syncWriter struct {
	mu sync.Mutex
	b  strings.Builder
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

var tokenField = regexp.MustCompile(`name="token" value="([^"]+)"`)

// TestDatabaseRestartUnderLoad restarts PostgreSQL while readers and
// commenters load the blog. While it is down, the blog answers 503 with
// Retry-After (never a 500, never a hang past its timeouts), keeps serving
// cached pages and reports not ready; it recovers by itself within five
// seconds of the database's return; every comment that was answered with
// success is in the database; goroutines and connections return to their
// baseline.
func TestDatabaseRestartUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("restarts a database")
	}
	pg := privatePostgres(t)
	logs := &syncWriter{}
	env := map[string]string{
		"DATABASE_URL":         pg.url(),
		"BLOG_ADDR":            freeAddr(t),
		"BLOG_DATA_DIR":        t.TempDir(),
		"BLOG_LOG_FORMAT":      "json",
		"BLOG_SHUTDOWN_DELAY":  "0s",
		"BLOG_TRUSTED_PROXIES": "127.0.0.1/32",
	}
	ctx := context.Background()
	if err := run(ctx, []string{"seed", "--posts", "30"}, envOf(env), nil, io.Discard, logs); err != nil {
		t.Fatalf("seed: %v\n%s", err, logs.String())
	}
	serveCtx, stopServe := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- run(serveCtx, []string{"serve"}, envOf(env), nil, logs, logs) }()
	defer func() {
		stopServe()
		<-served
	}()
	base := "http://" + env["BLOG_ADDR"]
	waitFor(t, 20*time.Second, "the blog to be ready", func() bool { return status(t, base+"/readyz") == 200 })

	client := &http.Client{
		Timeout:       20 * time.Second, // beyond the blog's own 10 s bound on database work
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	db, err := sql.Open("pgx", pg.url())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	var slugs []string
	rows, err := db.Query("SELECT slug FROM posts WHERE status = 'published' AND published_at <= now() ORDER BY id LIMIT 5")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		_ = rows.Scan(&s)
		slugs = append(slugs, s)
	}
	rows.Close()

	// Warm up: the pages readers load, in the cache.
	cached := append([]string{"/", "/feed.atom"}, func() []string {
		var out []string
		for _, s := range slugs {
			out = append(out, "/posts/"+s)
		}
		return out
	}()...)
	for _, p := range cached {
		if resp, err := client.Get(base + p); err != nil || resp.StatusCode != 200 {
			t.Fatalf("warm-up %s: %v %v", p, resp, err)
		} else {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	client.CloseIdleConnections()
	time.Sleep(200 * time.Millisecond)
	baseGoroutines := runtime.NumGoroutine()
	baseConns := dbConnections(t, db)

	// Comment forms, old enough to be sent (the blog refuses forms sent
	// within seconds of loading).
	type form struct{ slug, token string }
	var forms []form
	for i := range 200 {
		slug := slugs[i%len(slugs)]
		resp, err := client.Get(base + "/posts/" + slug)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := tokenField.FindSubmatch(b)
		if m == nil {
			t.Fatal("no comment form")
		}
		forms = append(forms, form{slug, string(m[1])})
	}
	time.Sleep(3500 * time.Millisecond)

	var (
		stop       atomic.Bool
		wg         sync.WaitGroup
		mu         sync.Mutex
		problems   []string
		statuses   = map[int]int{}
		accepted   []string // bodies of comments answered with success
		nextForm   atomic.Int64
		uncachedNo atomic.Int64
	)
	record := func(what string, code int, took time.Duration, err error) {
		mu.Lock()
		defer mu.Unlock()
		statuses[code]++
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("%s: %v after %s", what, err, took))
		case code >= 500 && code != 503:
			problems = append(problems, fmt.Sprintf("%s: %d", what, code))
		case took > 12*time.Second:
			problems = append(problems, fmt.Sprintf("%s took %s", what, took))
		}
	}
	for r := range 3 { // readers: cached pages and searches no one made before
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				path := cached[(i+r)%len(cached)]
				if i%3 == 0 {
					path = fmt.Sprintf("/search?q=gopher+%d", uncachedNo.Add(1))
				}
				start := time.Now()
				resp, err := client.Get(base + path)
				code := 0
				if err == nil {
					code = resp.StatusCode
					if code == 503 && resp.Header.Get("Retry-After") == "" {
						err = fmt.Errorf("503 without Retry-After")
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				record("GET "+path, code, time.Since(start), err)
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	for range 2 { // commenters
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				n := nextForm.Add(1) - 1
				if int(n) >= len(forms) {
					return
				}
				f := forms[n]
				body := fmt.Sprintf("Comment number %d under fault.", n)
				req, _ := http.NewRequest("POST", base+"/posts/"+f.slug+"/comments", strings.NewReader(url.Values{
					"name": {"Reader"}, "body": {body}, "token": {f.token},
				}.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("X-Forwarded-For", fmt.Sprintf("10.0.%d.%d", n/250, n%250))
				start := time.Now()
				resp, err := client.Do(req)
				code := 0
				if err == nil {
					code = resp.StatusCode
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if code == http.StatusSeeOther {
						mu.Lock()
						accepted = append(accepted, body)
						mu.Unlock()
					}
				}
				record("POST comment", code, time.Since(start), err)
				time.Sleep(40 * time.Millisecond)
			}
		}()
	}

	time.Sleep(time.Second)
	pg.stop()
	down := time.Now()
	// While the database is down: cached pages are served, readiness is
	// 503, and a page that needs the database is a 503 with Retry-After.
	time.Sleep(500 * time.Millisecond)
	for _, p := range cached {
		if code := status(t, base+p); code != 200 {
			t.Errorf("cached page %s while the database is down: %d, want 200", p, code)
		}
	}
	if code := status(t, base+"/readyz"); code != 503 {
		t.Errorf("/readyz while the database is down: %d, want 503", code)
	}
	resp, err := client.Get(base + "/search?q=nobody+searched+this")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("uncached page while the database is down: %d, Retry-After %q; want 503 with a retry hint", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	time.Sleep(2*time.Second - time.Since(down))
	pg.start()
	back := time.Now()
	waitFor(t, 5*time.Second, "readiness within 5 s of the database's return", func() bool { return status(t, base+"/readyz") == 200 })
	waitFor(t, 5*time.Second-time.Since(back), "a page that needs the database", func() bool {
		return status(t, base+fmt.Sprintf("/search?q=after+%d", time.Now().UnixNano())) == 200
	})
	t.Logf("recovered %s after the database came back", time.Since(back).Round(time.Millisecond))
	time.Sleep(time.Second)
	stop.Store(true)
	wg.Wait()

	mu.Lock()
	t.Logf("answers: %v; %d comments accepted", statuses, len(accepted))
	if len(problems) > 0 {
		t.Errorf("%d bad answers, first: %v", len(problems), problems[:min(5, len(problems))])
	}
	if statuses[503] == 0 {
		t.Error("no 503 was seen: the restart did not hit the load")
	}
	if len(accepted) == 0 {
		t.Error("no comment was accepted: the test proves nothing about them")
	}
	for _, body := range accepted {
		var n int
		if err := db.QueryRow("SELECT count(*) FROM comments WHERE body = $1", body).Scan(&n); err != nil || n != 1 {
			t.Errorf("comment %q was answered with success but is in the database %d times (%v)", body, n, err)
		}
	}
	mu.Unlock()

	client.CloseIdleConnections()
	waitFor(t, 10*time.Second, fmt.Sprintf("goroutines back to the baseline of %d", baseGoroutines), func() bool {
		return runtime.NumGoroutine() <= baseGoroutines+2
	})
	// The pool may hold up to its idle limit; it must not grow past what
	// it held before the restart plus that.
	if n := dbConnections(t, db); n > max(baseConns, 10)+1 {
		t.Errorf("%d database connections after recovery, %d before", n, baseConns)
	}
}

// dbConnections counts the client connections to the cluster, the test's
// own excluded.
func dbConnections(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func waitFor(t *testing.T, within time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", within, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
