package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func status(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestServeDrains runs the real server and stops it as an orchestrator
// would: after SIGTERM, /readyz turns 503 while pages are still served for
// the shutdown delay, then an in-flight request completes and serve returns.
func TestServeDrains(t *testing.T) {
	addr := freeAddr(t)
	env := map[string]string{"BLOG_ADDR": addr, "BLOG_DATA_DIR": t.TempDir(), "BLOG_SHUTDOWN_DELAY": "1500ms", "BLOG_LOG_FORMAT": "json"}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	var logs bytes.Buffer
	go func() { done <- run(ctx, []string{"serve"}, envOf(env), strings.NewReader(""), &logs, &logs) }()

	base := "http://" + addr
	deadline := time.Now().Add(20 * time.Second)
	for status(t, base+"/readyz") != 200 {
		if time.Now().After(deadline) {
			t.Fatalf("server never became ready; logs:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := run(ctx, []string{"healthcheck"}, envOf(env), nil, nil, nil); err != nil {
		t.Errorf("healthcheck against a ready server: %v", err)
	}

	// A request in flight: headers started but not finished.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("GET /healthz HTTP/1.1\r\nHost: blog\r\n")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)

	cancel() // SIGTERM
	time.Sleep(300 * time.Millisecond)
	if got := status(t, base+"/readyz"); got != 503 {
		t.Errorf("readyz while draining: %d, want 503", got)
	}
	if got := status(t, base+"/"); got != 200 {
		t.Errorf("home while draining: %d, want 200", got)
	}
	if err := run(context.Background(), []string{"healthcheck"}, envOf(env), nil, nil, nil); err == nil {
		t.Errorf("healthcheck succeeded against a draining server")
	}

	if _, err := conn.Write([]byte("\r\n")); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("in-flight request: %v %v", resp, err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not return after draining")
	}
	if status(t, base+"/healthz") != 0 {
		t.Error("server still answers after shutdown")
	}
	if !strings.Contains(logs.String(), `"msg":"draining`) {
		t.Errorf("no drain log line:\n%s", logs.String())
	}
}

func TestCommandErrors(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"unknown command", []string{"frobnicate"}, nil, `unknown command "frobnicate"`},
		{"invalid DATABASE_URL", []string{"migrate"}, map[string]string{"DATABASE_URL": "mysql://nope"}, "DATABASE_URL"},
		{"unreachable PostgreSQL", []string{"migrate"}, map[string]string{"DATABASE_URL": "postgres://nobody@127.0.0.1:1/x?connect_timeout=2"}, "DATABASE_URL"},
		{"bad listen address", []string{"serve"}, map[string]string{"BLOG_ADDR": "nonsense"}, "BLOG_ADDR"},
		{"bad base URL", []string{"serve"}, map[string]string{"BLOG_BASE_URL": "ftp://x"}, "BLOG_BASE_URL"},
		{"https without a secret", []string{"serve"}, map[string]string{"BLOG_BASE_URL": "https://blog.example.com"}, "BLOG_SECRET_KEY"},
		{"bad trusted proxies", []string{"serve"}, map[string]string{"BLOG_TRUSTED_PROXIES": "10.0.0.0/99"}, "BLOG_TRUSTED_PROXIES"},
		{"bad shutdown delay", []string{"serve"}, map[string]string{"BLOG_SHUTDOWN_DELAY": "soon"}, "BLOG_SHUTDOWN_DELAY"},
		{"grant on SQLite", []string{"migrate", "--grant-to", "blog"}, nil, "--grant-to is for PostgreSQL"},
		{"grant to a bad name", []string{"migrate", "--grant-to", "Blog;"}, map[string]string{"DATABASE_URL": "postgres://nobody@127.0.0.1:1/x"}, "--grant-to: \"Blog;\" is not a plain"},
		{"migrate with an argument", []string{"migrate", "now"}, nil, `unexpected argument "now"`},
		{"iam without a region", []string{"migrate"}, map[string]string{"BLOG_DATABASE_AUTH": "iam", "DATABASE_URL": "postgres://blog@db:5432/blog?sslmode=require"}, "AWS_REGION"},
		{"seed without a count", []string{"seed"}, nil, "--posts must be between"},
		{"seed with a bad count", []string{"seed", "--posts", "many"}, nil, "seed:"},
		{"user without email", []string{"user", "create", "--role", "admin"}, map[string]string{"BLOG_ADMIN_PASSWORD": "long enough pw"}, "--email"},
		{"user with a bad role", []string{"user", "create", "--email", "a@b.c", "--role", "king"}, map[string]string{"BLOG_ADMIN_PASSWORD": "long enough pw"}, "--role"},
		{"user with a short password", []string{"user", "create", "--email", "a@b.c"}, map[string]string{"BLOG_ADMIN_PASSWORD": "short"}, "at least 12"},
		{"healthcheck with nothing listening", []string{"healthcheck"}, map[string]string{"BLOG_ADDR": freeAddr(t)}, "healthcheck"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := map[string]string{"BLOG_DATA_DIR": dir}
			for k, v := range c.env {
				env[k] = v
			}
			var out bytes.Buffer
			err := run(context.Background(), c.args, envOf(env), strings.NewReader(""), &out, &out)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, c.want)
			}
			if c.name != "unknown command" && strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

func TestUserCreateAndSeed(t *testing.T) {
	dir := t.TempDir()
	env := envOf(map[string]string{"BLOG_DATA_DIR": dir})
	var out bytes.Buffer
	if err := run(context.Background(), []string{"user", "create", "--email", "Writer@Example.com", "--role", "admin"}, env, strings.NewReader("correct horse battery\n"), &out, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "saved admin writer@example.com") {
		t.Errorf("user create said %q", out.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"seed", "--posts", "15", "--if-empty"}, env, nil, &out, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "demo login: demo@example.com / ") || !strings.Contains(out.String(), "seeded 15 posts") {
		t.Errorf("seed said %q", out.String())
	}
	if b, err := os.ReadFile(filepath.Join(dir, "demo-login.txt")); err != nil || !strings.Contains(string(b), "demo@example.com") {
		t.Errorf("demo login not kept: %q %v", b, err)
	}
	out.Reset()
	if err := run(context.Background(), []string{"seed", "--posts", "15", "--if-empty"}, env, nil, &out, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "already has 15 posts; not seeding") || !strings.Contains(out.String(), "demo login:") {
		t.Errorf("second seed said %q", out.String())
	}
}

func TestVersion(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"version"}, envOf(nil), nil, &out, &out); err != nil || out.String() != "blog dev none\n" {
		t.Fatalf("version: %q %v", out.String(), err)
	}
}

// TestServeMetricsListener runs the real server with BLOG_METRICS_ADDR: the
// metrics answer there, counting the public listener's requests, and the
// public listener does not serve them.
func TestServeMetricsListener(t *testing.T) {
	addr, metricsAddr := freeAddr(t), freeAddr(t)
	env := map[string]string{"BLOG_ADDR": addr, "BLOG_METRICS_ADDR": metricsAddr, "BLOG_DATA_DIR": t.TempDir(), "BLOG_SHUTDOWN_DELAY": "0s", "BLOG_LOG_FORMAT": "json"}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve"}, envOf(env), strings.NewReader(""), io.Discard, io.Discard) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()

	base := "http://" + addr
	deadline := time.Now().Add(20 * time.Second)
	for status(t, base+"/readyz") != 200 {
		if time.Now().After(deadline) {
			t.Fatal("server never became ready")
		}
		time.Sleep(50 * time.Millisecond)
	}
	for range 3 {
		if got := status(t, base+"/feed.atom"); got != 200 {
			t.Fatalf("feed: %d", got)
		}
	}
	if got := status(t, base+"/metrics"); got != 404 {
		t.Errorf("/metrics on the public listener: %d, want 404", got)
	}
	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`blog_http_requests_total{code="200",route="GET /feed.atom"} 3`,
		`blog_build_info{commit="none",goversion="go`,
		"go_sql_open_connections",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics listener lacks %s:\n%.2000s", want, body)
		}
	}
	if got := status(t, "http://"+metricsAddr+"/"); got != 404 {
		t.Errorf("the metrics listener serves / too: %d", got)
	}
}
