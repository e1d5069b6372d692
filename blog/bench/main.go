// Command bench measures the blog against nginx serving the blog's own
// bytes, in the same run, on the same machine (make bench).
//
// For each archive size it seeds a PostgreSQL database, starts the blog
// with production settings twice (page cache on, and off to measure cache
// misses), saves the exact bytes of the pages under test into a folder
// that nginx (one worker) serves, and loads each page with wrk --latency,
// alternating nginx and the blog round after round. The machine is shared
// and noisy, so the result is the ratio to nginx within a round; the table
// shows the median of the rounds.
package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type options struct {
	sizes    []int
	rounds   int
	duration time.Duration
	conns    []int
	adminURL string
	out      string
	work     string
}

func run() error {
	var o options
	sizes := flag.String("posts", "1000,10000", "archive sizes to measure, comma-separated")
	conns := flag.String("conns", "8,64", "wrk connection counts, comma-separated")
	flag.IntVar(&o.rounds, "rounds", 3, "rounds per measurement (the median is reported)")
	flag.DurationVar(&o.duration, "duration", 5*time.Second, "length of one wrk run")
	flag.StringVar(&o.adminURL, "db", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "PostgreSQL server to create the benchmark databases on")
	flag.StringVar(&o.out, "out", "docs/bench-results.md", "file the results table is written to")
	flag.Parse()
	var err error
	if o.sizes, err = ints(*sizes); err != nil {
		return fmt.Errorf("-posts: %w", err)
	}
	if o.conns, err = ints(*conns); err != nil {
		return fmt.Errorf("-conns: %w", err)
	}
	for _, tool := range []string{"nginx", "wrk"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is not installed (apt-get install nginx wrk)", tool)
		}
	}
	if o.work, err = os.MkdirTemp("", "blogbench-"); err != nil {
		return err
	}
	defer os.RemoveAll(o.work)
	// nginx's worker runs as an unprivileged user and must read the pages.
	if err := os.Chmod(o.work, 0o755); err != nil {
		return err
	}
	bin := filepath.Join(o.work, "blog")
	build := exec.Command("go", "build", "-o", bin, "./blog")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("build the blog: %w", err)
	}

	var report strings.Builder
	fmt.Fprintf(&report, "# make bench: the blog against nginx serving its pages\n\n")
	fmt.Fprintf(&report, "%s, %d CPUs, %s per wrk run, median of %d rounds, nginx and the blog alternating.\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), runtime.NumCPU(), o.duration, o.rounds)
	fmt.Fprintf(&report, "ratio: the blog's value over nginx's in the same round (req/s: higher is better; CPU and latency: lower is better).\n")
	fmt.Fprintf(&report, "\"miss\": a second blog process with its page cache off (BLOG_CACHE_MB=0), so every request renders from the database.\n")
	results := map[int][]row{}
	for _, n := range o.sizes {
		rows, notes, err := measureSize(o, bin, n)
		if err != nil {
			return fmt.Errorf("%d posts: %w", n, err)
		}
		results[n] = rows
		fmt.Fprintf(&report, "\n## %d posts\n\n%s\n", n, notes)
		writeTable(&report, rows)
		writeTable(os.Stdout, rows)
	}
	if len(o.sizes) > 1 {
		writeGrowth(&report, o.sizes, results)
	}
	if err := os.WriteFile(o.out, []byte(report.String()), 0o644); err != nil {
		return err
	}
	fmt.Println()
	fmt.Println(report.String())
	fmt.Printf("written to %s\n", o.out)
	return nil
}

// scenario is one page (or mix) loaded on the blog and on nginx.
type scenario struct {
	name  string
	blog  []string // paths on the blog, rotated
	stat  []string // the same pages' paths on nginx
	miss  bool     // also measured on the uncached blog
	mix   bool     // post pages with comment posts
	total int
}

// row is one scenario at one connection count: medians over the rounds.
type row struct {
	scenario, server string
	conns            int
	rps, p50, p99    float64 // req/s, ms, ms
	cpu              float64 // CPU microseconds per request
	rRPS, rP99, rCPU float64 // ratios to nginx in the same round (medians)
	rP50             float64
	errors           int
}

func measureSize(o options, bin string, n int) ([]row, string, error) {
	ctx := context.Background()
	dbURL, drop, err := createDB(ctx, o.adminURL, fmt.Sprintf("blogbench_%d", n))
	if err != nil {
		return nil, "", err
	}
	defer drop()
	fmt.Fprintf(os.Stderr, "seeding %d posts and about %d comments...\n", n, 5*n)
	start := time.Now()
	seed := exec.Command(bin, "seed", "--posts", strconv.Itoa(n), "--comments", strconv.Itoa(5*n))
	// Seeding commits once per post and comment: without waiting for each
	// commit to reach the disk it takes a fraction of the time.
	seed.Env = append(os.Environ(), "DATABASE_URL="+dbURL+"&synchronous_commit=off", "BLOG_DATA_DIR="+o.work, "BLOG_LOG_FORMAT=json")
	if out, err := seed.CombinedOutput(); err != nil {
		return nil, "", fmt.Errorf("seed: %w\n%s", err, out)
	}
	seedTime := time.Since(start)

	cached, err := startBlog(bin, dbURL, o.work, "32")
	if err != nil {
		return nil, "", err
	}
	defer cached.stop()
	uncached, err := startBlog(bin, dbURL, o.work, "0")
	if err != nil {
		return nil, "", err
	}
	defer uncached.stop()

	root := filepath.Join(o.work, fmt.Sprintf("static-%d", n))
	scenarios, weight, err := savePages(cached.base, root)
	if err != nil {
		return nil, "", err
	}
	ngx, err := startNginx(o.work, root)
	if err != nil {
		return nil, "", err
	}
	defer ngx.stop()

	var rows []row
	for _, sc := range scenarios {
		for _, c := range o.conns {
			var nginxRuns, blogRuns, missRuns []result
			for round := range o.rounds {
				fmt.Fprintf(os.Stderr, "%d posts, %s, %d connections, round %d/%d\n", n, sc.name, c, round+1, o.rounds)
				nr, err := load(o, ngx.base, ngx.pids(), sc.stat, c, nil)
				if err != nil {
					return nil, "", err
				}
				nginxRuns = append(nginxRuns, nr)
				var tokens []string
				if sc.mix {
					if tokens, err = commentTokens(cached.base, sc.blog, 12000); err != nil {
						return nil, "", err
					}
				}
				br, err := load(o, cached.base, []int{cached.pid()}, sc.blog, c, tokens)
				if err != nil {
					return nil, "", err
				}
				blogRuns = append(blogRuns, br)
				if sc.miss {
					mr, err := load(o, uncached.base, []int{uncached.pid()}, sc.blog, c, nil)
					if err != nil {
						return nil, "", err
					}
					missRuns = append(missRuns, mr)
				}
			}
			rows = append(rows, summarize(sc.name, "nginx", c, nginxRuns, nginxRuns))
			name := "blog"
			if sc.mix {
				name = "blog (10% comment posts)"
			}
			rows = append(rows, summarize(sc.name, name, c, blogRuns, nginxRuns))
			if sc.miss {
				rows = append(rows, summarize(sc.name, "blog miss", c, missRuns, nginxRuns))
			}
		}
	}
	notes := fmt.Sprintf("Seeded in %s. Peak RSS (VmHWM): blog %.0f MB, blog with the cache off %.0f MB.\n"+
		"Page weight, gzipped: %s.\n",
		seedTime.Round(time.Second), cached.peakRSS(), uncached.peakRSS(), weight)
	return rows, notes, nil
}

// createDB makes an empty database on the server at adminURL.
func createDB(ctx context.Context, adminURL, name string) (string, func(), error) {
	db, err := sql.Open("pgx", adminURL)
	if err != nil {
		return "", nil, err
	}
	if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
		db.Close()
		return "", nil, fmt.Errorf("PostgreSQL at %s: %w", adminURL, err)
	}
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		db.Close()
		return "", nil, err
	}
	u, err := url.Parse(adminURL)
	if err != nil {
		db.Close()
		return "", nil, err
	}
	u.Path = "/" + name
	return u.String(), func() {
		_, _ = db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		db.Close()
	}, nil
}

// proc is a server process under test.
type proc struct {
	cmd  *exec.Cmd
	base string
	// workers lists the processes whose CPU counts (nginx: master and
	// worker).
	pids func() []int
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) stop() {
	_ = p.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
	}
}

// peakRSS is the process's peak resident set in MB.
func (p *proc) peakRSS() float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.pid()))
	if err != nil {
		return 0
	}
	m := regexp.MustCompile(`VmHWM:\s+(\d+) kB`).FindSubmatch(b)
	if m == nil {
		return 0
	}
	kb, _ := strconv.ParseFloat(string(m[1]), 64)
	return kb / 1024
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startBlog runs the blog with production settings (JSON logs, an https
// base URL, a trusted proxy in front) and cacheMB of page cache.
func startBlog(bin, dbURL, work, cacheMB string) (*proc, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(),
		"DATABASE_URL="+dbURL,
		"BLOG_ADDR=127.0.0.1:"+strconv.Itoa(port),
		"BLOG_BASE_URL=https://blog.example.com",
		"BLOG_SECRET_KEY=bench-secret-key-bench-secret-key-0123456789",
		"BLOG_DATA_DIR="+work,
		"BLOG_LOG_FORMAT=json",
		"BLOG_TRUSTED_PROXIES=127.0.0.1/32",
		"BLOG_SHUTDOWN_DELAY=0s",
		"BLOG_CACHE_MB="+cacheMB,
	)
	// Production logs a line per request; here it goes nowhere, but it
	// is still formatted and written.
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = devnull, devnull
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &proc{cmd: cmd, base: fmt.Sprintf("http://127.0.0.1:%d", port)}
	p.pids = func() []int { return []int{p.pid()} }
	for range 100 {
		if resp, err := http.Get(p.base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p, nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.stop()
	return nil, errors.New("the blog did not become ready in 10s")
}

// startNginx serves root with one worker, keep-alive as long as wrk wants.
func startNginx(work, root string) (*proc, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(work, "nginx")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	conf := fmt.Sprintf(`daemon off;
master_process on;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events { worker_connections 1024; }
http {
	access_log off;
	sendfile on;
	tcp_nopush on;
	keepalive_requests 1000000;
	client_body_temp_path %[1]s/body;
	proxy_temp_path %[1]s/proxy;
	fastcgi_temp_path %[1]s/fastcgi;
	uwsgi_temp_path %[1]s/uwsgi;
	scgi_temp_path %[1]s/scgi;
	types { text/html html; application/atom+xml atom; }
	default_type text/html;
	server {
		listen 127.0.0.1:%[2]d;
		root %[3]s;
	}
}
`, dir, port, root)
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command("nginx", "-c", confPath, "-p", dir)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &proc{cmd: cmd, base: fmt.Sprintf("http://127.0.0.1:%d", port)}
	p.pids = func() []int { return append([]int{p.pid()}, children(p.pid())...) }
	for range 100 {
		if conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			conn.Close()
			return p, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.stop()
	return nil, errors.New("nginx did not start; see " + dir + "/error.log")
}

// children lists the processes whose parent is pid.
func children(pid int) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", child))
		if err != nil {
			continue
		}
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, child)
		}
	}
	return out
}

// cpuTicks is the user and system time of the processes, in clock ticks.
func cpuTicks(pids []int) int64 {
	var total int64
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		// After the command: state is field 3, utime 14 and stime 15.
		u, _ := strconv.ParseInt(f[11], 10, 64)
		s, _ := strconv.ParseInt(f[12], 10, 64)
		total += u + s
	}
	return total
}

// clockTick is the kernel's USER_HZ, 100 on Linux.
const clockTick = 10 * time.Millisecond

var (
	hrefRe  = regexp.MustCompile(`href="(/posts/[^"?#]+)"`)
	tagRe   = regexp.MustCompile(`href="(/tags/[^"?#]+)"`)
	assetRe = regexp.MustCompile(`(?:href|src)="(/static/[^"]+)"`)
	tokenRe = regexp.MustCompile(`name="token" value="([^"]+)"`)
	locRe   = regexp.MustCompile(`<loc>https://blog.example.com(/posts/[^<]+)</loc>`)
)

func get(u string) ([]byte, error) {
	resp, err := http.Get(u)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != 200 {
		err = fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return b, err
}

// savePages writes the exact bytes of the pages under test into root for
// nginx, and returns the scenarios and the home page's weight.
func savePages(base, root string) ([]scenario, string, error) {
	sitemap, err := get(base + "/sitemap.xml")
	if err != nil {
		return nil, "", err
	}
	var posts []string
	for _, m := range locRe.FindAllStringSubmatch(string(sitemap), -1) {
		posts = append(posts, m[1])
	}
	if len(posts) < 10 {
		return nil, "", fmt.Errorf("only %d posts in the sitemap", len(posts))
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(posts), func(i, j int) { posts[i], posts[j] = posts[j], posts[i] })
	posts = posts[:min(200, len(posts))]
	home, err := get(base + "/")
	if err != nil {
		return nil, "", err
	}
	tag := tagRe.FindSubmatch(home)
	if tag == nil {
		return nil, "", errors.New("no tag link on the home page")
	}
	pages := map[string]string{ // blog path -> file under root
		"/":                       "/home.html",
		"/?page=50":               "/page50.html",
		string(tag[1]):            "/tag.html",
		"/search?q=postgresql":    "/search.html",
		"/feed.atom":              "/feed.atom",
		"/search?q=deploys":       "/search2.html",
		"/search?q=observability": "/search3.html",
	}
	var postFiles []string
	for _, p := range posts {
		pages[p] = p + ".html"
		postFiles = append(postFiles, p+".html")
	}
	for path, file := range pages {
		b, err := get(base + path)
		if err != nil {
			return nil, "", err
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, file)), 0o755); err != nil {
			return nil, "", err
		}
		if err := os.WriteFile(filepath.Join(root, file), b, 0o644); err != nil {
			return nil, "", err
		}
	}
	weight, err := pageWeight(base, home)
	if err != nil {
		return nil, "", err
	}
	searches := []string{"/search?q=postgresql", "/search?q=deploys", "/search?q=observability"}
	return []scenario{
		{name: "post (200 slugs)", blog: posts, stat: postFiles, miss: true},
		{name: "home", blog: []string{"/"}, stat: []string{"/home.html"}, miss: true},
		{name: "home page 50", blog: []string{"/?page=50"}, stat: []string{"/page50.html"}, miss: true},
		{name: "tag " + strings.TrimPrefix(string(tag[1]), "/tags/"), blog: []string{string(tag[1])}, stat: []string{"/tag.html"}, miss: true},
		{name: "search (3 queries)", blog: searches, stat: []string{"/search.html", "/search2.html", "/search3.html"}, miss: true},
		{name: "feed.atom", blog: []string{"/feed.atom"}, stat: []string{"/feed.atom"}},
		{name: "mix: posts + comments", blog: posts, stat: postFiles, mix: true},
	}, weight, nil
}

// pageWeight is the home page with its CSS and scripts, gzipped.
func pageWeight(base string, home []byte) (string, error) {
	total := gzipSize(home)
	parts := []string{fmt.Sprintf("HTML %.1f KB", float64(total)/1024)}
	for _, m := range assetRe.FindAllSubmatch(home, -1) {
		b, err := get(base + string(m[1]))
		if err != nil {
			return "", err
		}
		n := gzipSize(b)
		total += n
		parts = append(parts, fmt.Sprintf("%s %.1f KB", filepath.Base(string(m[1])), float64(n)/1024))
	}
	return fmt.Sprintf("home page %.1f KB in all (%s)", float64(total)/1024, strings.Join(parts, ", ")), nil
}

func gzipSize(b []byte) int {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Len()
}

// commentTokens fetches n comment forms from the posts, and waits until
// they are old enough to be sent (people take a few seconds to write).
func commentTokens(base string, posts []string, n int) ([]string, error) {
	var lines []string
	client := &http.Client{Timeout: 10 * time.Second}
	for i := range n {
		p := posts[i%len(posts)]
		resp, err := client.Get(base + p)
		if err != nil {
			return nil, err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := tokenRe.FindSubmatch(b)
		if m == nil {
			return nil, fmt.Errorf("no comment token on %s", p)
		}
		lines = append(lines, p+"/comments "+string(m[1]))
	}
	time.Sleep(4 * time.Second)
	return lines, nil
}

// wrkScript rotates over the paths in $BENCH_PATHS; with $BENCH_TOKENS it
// sends one comment (with a fresh form token, from a client address of its
// own) for every nine page loads.
const wrkScript = `
local paths, forms = {}, {}
for line in io.lines(os.getenv("BENCH_PATHS")) do paths[#paths + 1] = line end
local tokens = os.getenv("BENCH_TOKENS")
local run = tonumber(os.getenv("BENCH_RUN"))
if tokens ~= nil and tokens ~= "" then
  for line in io.lines(tokens) do forms[#forms + 1] = line end
end
-- thread_id is a global: setup sets it in each thread's own state.
local i, f = 0, 0
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("thread_id", counter)
end
function init(args)
  -- Each of wrk's two threads takes its own half of the forms: a form is
  -- sent once.
  i = thread_id * 7919
  f = (thread_id - 1) * math.floor(#forms / 2)
end
function request()
  i = i + 1
  if #forms > 0 and i % 10 == 0 then
    f = f + 1
    local form = forms[(f % #forms) + 1]
    local path, token = form:match("^(%S+) (%S+)$")
    local body = "name=Reader+" .. f .. "&website=&nickname=&body=Thanks+for+the+write-up+number+" .. f .. "&token=" .. token
    -- A client address per comment, never reused in the run: the blog
    -- allows five comments per address in ten minutes.
    local ip = "10." .. (run % 250) .. "." .. (math.floor(f / 250) % 250) .. "." .. (f % 250)
    return wrk.format("POST", path, {["Content-Type"] = "application/x-www-form-urlencoded", ["X-Forwarded-For"] = ip}, body)
  end
  return wrk.format("GET", paths[(i % #paths) + 1])
end
`

// result is one wrk run.
type result struct {
	rps, p50, p99 float64 // req/s, ms, ms
	cpu           float64 // server CPU microseconds per request
	errors        int
}

var (
	rpsRe    = regexp.MustCompile(`Requests/sec:\s+([\d.]+)`)
	totalRe  = regexp.MustCompile(`(\d+) requests in`)
	latRe    = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$`)
	non2xxRe = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	sockRe   = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

// loads counts wrk runs, so that each gives its comments client addresses
// of their own.
var loads int

// load runs wrk against base over paths and measures the server's CPU.
func load(o options, base string, pids []int, paths []string, conns int, forms []string) (result, error) {
	pathFile := filepath.Join(o.work, "paths.txt")
	if err := os.WriteFile(pathFile, []byte(strings.Join(paths, "\n")+"\n"), 0o644); err != nil {
		return result{}, err
	}
	script := filepath.Join(o.work, "rotate.lua")
	if err := os.WriteFile(script, []byte(wrkScript), 0o644); err != nil {
		return result{}, err
	}
	tokenFile := ""
	if len(forms) > 0 {
		tokenFile = filepath.Join(o.work, "tokens.txt")
		if err := os.WriteFile(tokenFile, []byte(strings.Join(forms, "\n")+"\n"), 0o644); err != nil {
			return result{}, err
		}
	}
	// Two threads: the script splits the comment forms between them.
	cmd := exec.Command("wrk", "-t2", "-c"+strconv.Itoa(conns), "-d"+o.duration.String(), "--latency", "--timeout", "5s", "-s", script, base)
	loads++
	cmd.Env = append(os.Environ(), "BENCH_PATHS="+pathFile, "BENCH_TOKENS="+tokenFile, "BENCH_RUN="+strconv.Itoa(loads))
	before := cpuTicks(pids)
	out, err := cmd.CombinedOutput()
	after := cpuTicks(pids)
	if err != nil {
		return result{}, fmt.Errorf("wrk: %w\n%s", err, out)
	}
	var r result
	m := rpsRe.FindSubmatch(out)
	t := totalRe.FindSubmatch(out)
	if m == nil || t == nil {
		return result{}, fmt.Errorf("cannot read wrk's output:\n%s", out)
	}
	r.rps, _ = strconv.ParseFloat(string(m[1]), 64)
	total, _ := strconv.ParseFloat(string(t[1]), 64)
	for _, l := range latRe.FindAllSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(string(l[2]), 64)
		switch string(l[3]) {
		case "us":
			v /= 1000
		case "s":
			v *= 1000
		}
		if string(l[1]) == "50" {
			r.p50 = v
		} else {
			r.p99 = v
		}
	}
	if e := non2xxRe.FindSubmatch(out); e != nil {
		r.errors, _ = strconv.Atoi(string(e[1]))
	}
	if s := sockRe.FindSubmatch(out); s != nil {
		for _, v := range s[1:] {
			n, _ := strconv.Atoi(string(v))
			r.errors += n
		}
	}
	if total > 0 {
		r.cpu = float64(after-before) * float64(clockTick/time.Microsecond) / total
	}
	return r, nil
}

// summarize takes the medians of runs, and of their ratios to the nginx
// run of the same round.
func summarize(scenario, server string, conns int, runs, nginx []result) row {
	med := func(f func(i int) float64) float64 {
		var v []float64
		for i := range runs {
			v = append(v, f(i))
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	r := row{scenario: scenario, server: server, conns: conns}
	r.rps = med(func(i int) float64 { return runs[i].rps })
	r.p50 = med(func(i int) float64 { return runs[i].p50 })
	r.p99 = med(func(i int) float64 { return runs[i].p99 })
	r.cpu = med(func(i int) float64 { return runs[i].cpu })
	r.rRPS = med(func(i int) float64 { return runs[i].rps / nginx[i].rps })
	r.rP50 = med(func(i int) float64 { return runs[i].p50 / nginx[i].p50 })
	r.rP99 = med(func(i int) float64 { return runs[i].p99 / nginx[i].p99 })
	r.rCPU = med(func(i int) float64 { return runs[i].cpu / max(nginx[i].cpu, 0.001) })
	for _, x := range runs {
		r.errors += x.errors
	}
	return r
}

func writeTable(w io.Writer, rows []row) {
	fmt.Fprintln(w, "| page | server | conns | req/s | p50 ms | p99 ms | CPU µs/req | req/s ratio | p50 ratio | p99 ratio | CPU ratio | non-2xx/3xx, errors |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range rows {
		ratio := func(v float64) string {
			if r.server == "nginx" {
				return ""
			}
			return fmt.Sprintf("%.2f", v)
		}
		pct := ""
		if r.server != "nginx" {
			pct = fmt.Sprintf("%.0f%%", 100*r.rRPS)
		}
		fmt.Fprintf(w, "| %s | %s | %d | %.0f | %.2f | %.2f | %.0f | %s | %s | %s | %s | %d |\n",
			r.scenario, r.server, r.conns, r.rps, r.p50, r.p99, r.cpu, pct, ratio(r.rP50), ratio(r.rP99), ratio(r.rCPU), r.errors)
	}
}

// writeGrowth compares the blog's CPU per request, relative to nginx's,
// between the smallest and the largest archive: about 1 means the page
// costs the same whatever the archive's size.
func writeGrowth(w io.Writer, sizes []int, results map[int][]row) {
	small, large := sizes[0], sizes[len(sizes)-1]
	fmt.Fprintf(w, "\n## Growth with the archive: %d posts against %d\n\n", large, small)
	fmt.Fprintln(w, "CPU per request (ratio to nginx's) at the large archive over the same at the small one; 1.0 means no growth.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| page | server | conns | CPU ratio, small | CPU ratio, large | growth |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|")
	for _, l := range results[large] {
		if l.server == "nginx" {
			continue
		}
		for _, s := range results[small] {
			if s.server == l.server && s.conns == l.conns && sameScenario(s.scenario, l.scenario) {
				fmt.Fprintf(w, "| %s | %s | %d | %.2f | %.2f | %.2f |\n", l.scenario, l.server, l.conns, s.rCPU, l.rCPU, l.rCPU/s.rCPU)
			}
		}
	}
}

// sameScenario matches scenarios across sizes (the tag may differ).
func sameScenario(a, b string) bool {
	return a == b || (strings.HasPrefix(a, "tag ") && strings.HasPrefix(b, "tag "))
}

func ints(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive number", f)
		}
		out = append(out, n)
	}
	return out, nil
}
