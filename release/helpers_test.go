package release

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// root is the repository root: the artifacts live there, one level up.
var root = func() string {
	dir, err := filepath.Abs("..")
	if err != nil {
		panic(err)
	}
	return dir
}()

// rootPath joins parts onto the repository root.
func rootPath(parts ...string) string { return filepath.Join(append([]string{root}, parts...)...) }

// readRoot returns a file of the repository, failing the test when it is
// missing.
func readRoot(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(rootPath(name))
	if err != nil {
		t.Fatalf("reading %s: %v", name, err)
	}
	return b
}

// missing handles a tool or service that is not there: the test skips on a
// developer's machine and fails in CI, where the tool must be installed.
func missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") != "" {
		t.Fatalf("%s (CI is set, so this fails instead of skipping)", msg)
	}
	t.Skip(msg)
}

// freePort returns a loopback TCP port that nothing listens on right now.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitStatus polls url until it answers want, or fails the test after
// timeout. cmdDone, when it closes, means the server exited early.
func waitStatus(t testing.TB, client *http.Client, url string, want int, timeout time.Duration, cmdDone <-chan struct{}) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := "no answer"
	for time.Now().Before(deadline) {
		select {
		case <-cmdDone:
			t.Fatalf("the server exited while waiting for %s (last: %s)", url, last)
		default:
		}
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == want {
				return
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s did not answer %d within %s (last: %s)", url, want, timeout, last)
}

// process is a server started by a test and stopped when it ends.
type process struct {
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
}

// start runs name with args and env added to a minimal environment; the
// process is killed when the test ends. Its combined output is logged on
// failure.
func start(t testing.TB, name string, env []string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(baseEnv(), env...)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	p := &process{cmd: cmd, out: out, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("output of %s:\n%s", filepath.Base(name), out.String())
		}
	})
	return p
}

// baseEnv is what every child process gets: enough to run, nothing from the
// developer's shell that could change the result (BLOG_*, DATABASE_URL).
func baseEnv() []string {
	var env []string
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "GOCACHE", "GOMODCACHE", "GOPATH", "GOPROXY", "GOFLAGS", "GONOSUMDB", "GOPRIVATE", "GOTOOLCHAIN"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// syncBuffer collects a child's output from two pipes at once.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// blogBuild is the blog binary built once per test run, exactly as the
// Dockerfile builds it (see buildAsDockerfile).
var blogBuild struct {
	once sync.Once
	path string
	err  error
}

const (
	testVersion = "v0.0.0-releasetest"
	testCommit  = "0123456789abcdef0123456789abcdef01234567"
)

// blogBinary returns the blog built with the Dockerfile's command line, or
// skips (fails in CI) when the go command is missing.
func blogBinary(t testing.TB) string {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		missing(t, "the go command is not on PATH: %v", err)
	}
	blogBuild.once.Do(func() {
		dir, err := os.MkdirTemp("", "release-blog-")
		if err != nil {
			blogBuild.err = err
			return
		}
		blogBuild.path = filepath.Join(dir, "blog")
		blogBuild.err = buildAsDockerfile(context.Background(), blogBuild.path, runtime.GOARCH)
	})
	if blogBuild.err != nil {
		t.Fatalf("building the blog as the Dockerfile does: %v", blogBuild.err)
	}
	return blogBuild.path
}

// testDatabaseURL creates an empty PostgreSQL database on the server named
// by TEST_DATABASE_URL, dropped when the test ends: the image's binary is
// built without SQLite, as production runs it.
func testDatabaseURL(t testing.TB) string {
	t.Helper()
	admin := os.Getenv("TEST_DATABASE_URL")
	if admin == "" {
		missing(t, "TEST_DATABASE_URL is not set (PostgreSQL for the image's binary)")
	}
	db, err := sql.Open("pgx", admin)
	if err == nil {
		err = db.Ping()
	}
	if err != nil {
		missing(t, "PostgreSQL at TEST_DATABASE_URL does not answer: %v", err)
	}
	buf := make([]byte, 6)
	_, _ = rand.Read(buf)
	name := "releasetest_" + hex.EncodeToString(buf)
	if _, err := db.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		defer db.Close()
		if _, err := db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("TEST_DATABASE_URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// blogServer is a running blog on its own PostgreSQL database.
type blogServer struct {
	*process
	addr string // 127.0.0.1:port
	url  string // http://addr
}

// startBlog runs `blog serve` on a free loopback port with a fresh
// PostgreSQL database and waits until /readyz answers 200.
func startBlog(t testing.TB, extraEnv ...string) *blogServer {
	t.Helper()
	blogBinary(t) // skip before creating a database when go is missing
	return startBlogOn(t, testDatabaseURL(t), extraEnv...)
}

// startBlogOn is startBlog on the given database, which several blogs may
// share as instances behind one proxy do.
func startBlogOn(t testing.TB, databaseURL string, extraEnv ...string) *blogServer {
	t.Helper()
	bin := blogBinary(t)
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	env := append([]string{
		"BLOG_ADDR=" + addr,
		"BLOG_DATA_DIR=" + t.TempDir(),
		"DATABASE_URL=" + databaseURL,
		"BLOG_BASE_URL=http://" + addr,
		"BLOG_LOG_FORMAT=json",
	}, extraEnv...)
	p := start(t, bin, env, "serve")
	s := &blogServer{process: p, addr: addr, url: "http://" + addr}
	waitStatus(t, http.DefaultClient, s.url+"/readyz", http.StatusOK, 60*time.Second, p.done)
	return s
}

// errExit reports a command's exit status in test messages.
func errExit(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return fmt.Sprintf("exit status %d", ee.ExitCode())
	}
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

func TestMain(m *testing.M) {
	code := m.Run()
	if blogBuild.path != "" {
		os.RemoveAll(filepath.Dir(blogBuild.path))
	}
	os.Exit(code)
}
