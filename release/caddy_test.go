package release

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"debug/buildinfo"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
)

// caddyfile is the file the proxy runs, relative to the repository root.
var caddyfile = rootPath("host", "Caddyfile")

// pinnedCaddyVersion is the Caddy version of the proxy image in the compose
// file ("v2.11.7" for caddy:2.11.7-alpine@sha256:...).
func pinnedCaddyVersion(t testing.TB) string {
	t.Helper()
	p := mustLoadCompose(t, prodEnv())
	m := regexp.MustCompile(`^caddy:(\d+\.\d+\.\d+)`).FindStringSubmatch(service(t, p, "proxy").Image)
	if m == nil {
		t.Fatalf("cannot read the Caddy version from the proxy image %q", service(t, p, "proxy").Image)
	}
	return "v" + m[1]
}

// caddyBinary finds caddy ($CADDY_BIN, else PATH) built at the version the
// compose file pins: a different Caddy could accept a Caddyfile that the
// production image rejects, or the reverse.
func caddyBinary(t testing.TB) string {
	t.Helper()
	want := pinnedCaddyVersion(t)
	install := fmt.Sprintf("GOBIN=<dir> go install github.com/caddyserver/caddy/v2/cmd/caddy@%s, then set CADDY_BIN or PATH", want)
	bin := os.Getenv("CADDY_BIN")
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("caddy"); err != nil {
			missing(t, "caddy not found ($CADDY_BIN unset, none on PATH); %s", install)
		}
	}
	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		missing(t, "%s is not a Go binary whose version can be read (%v); %s", bin, err, install)
	}
	if info.Main.Path != "github.com/caddyserver/caddy/v2" || info.Main.Version != want {
		missing(t, "%s is %s %s; the compose file pins Caddy %s: %s", bin, info.Main.Path, info.Main.Version, want, install)
	}
	return bin
}

// caddyEnv is the proxy's environment: what compose sets, plus a private
// admin port and storage so that tests never touch a real Caddy. A test's
// upstreams (blogs on 127.0.0.1, space separated) replace the alias
// production dials; with none, Caddy dials the alias as in production.
func caddyEnv(t testing.TB, site, upstream, acme string) []string {
	t.Helper()
	dir := t.TempDir()
	env := []string{
		"BLOG_SITE_ADDRESS=" + site,
		"BLOG_ACME_EMAIL_OPTION=" + acme,
		fmt.Sprintf("BLOG_CADDY_ADMIN=127.0.0.1:%d", freePort(t)),
		"HOME=" + dir,
		"XDG_DATA_HOME=" + filepath.Join(dir, "data"),
		"XDG_CONFIG_HOME=" + filepath.Join(dir, "config"),
	}
	if upstream != "" {
		env = append(env, "BLOG_UPSTREAM="+upstream)
	}
	return env
}

func runCaddy(t testing.TB, bin string, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(baseEnv(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestCaddyfileValidates(t *testing.T) {
	bin := caddyBinary(t)
	tests := []struct {
		name     string
		site     string
		upstream string
		acme     string
		valid    bool
	}{
		{"production", "blog.example.com", "", "email ops@example.com", true},
		{"production without ACME email", "blog.example.com", "", "", true},
		{"preview", "pr-12.blog.example.com", "", "", true},
		{"local test", "http://127.0.0.1:8443", "127.0.0.1:8080", "", true},
		{"no site address", "", "", "", false},
		{"broken ACME option", "blog.example.com", "", "email", false},
		{"broken upstream", "blog.example.com", "blog-live:none", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := runCaddy(t, bin, caddyEnv(t, tt.site, tt.upstream, tt.acme),
				"validate", "--config", caddyfile, "--adapter", "caddyfile")
			if tt.valid && err != nil {
				t.Errorf("caddy validate: %s\n%s", errExit(err), out)
			}
			if !tt.valid && err == nil {
				t.Errorf("caddy validate accepted an invalid setup:\n%s", out)
			}
		})
	}
}

// adapt returns the JSON config that Caddy builds from the Caddyfile.
func adapt(t testing.TB, bin string, env []string) map[string]any {
	t.Helper()
	cmd := exec.Command(bin, "adapt", "--config", caddyfile, "--adapter", "caddyfile")
	cmd.Env = append(baseEnv(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("caddy adapt: %v\n%s", err, stderr.String())
	}
	var cfg map[string]any
	if err := json.Unmarshal(out, &cfg); err != nil {
		t.Fatalf("caddy adapt printed no JSON: %v\n%s", err, out)
	}
	return cfg
}

// find returns every object in v (at any depth) that has key set to value.
func find(v any, key, value string) []map[string]any {
	var out []map[string]any
	switch v := v.(type) {
	case map[string]any:
		if s, ok := v[key].(string); ok && s == value {
			out = append(out, v)
		}
		for _, c := range v {
			out = append(out, find(c, key, value)...)
		}
	case []any:
		for _, c := range v {
			out = append(out, find(c, key, value)...)
		}
	}
	return out
}

// path walks nested objects; it returns nil when any step is missing.
func path(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func TestCaddyfileProductionConfig(t *testing.T) {
	bin := caddyBinary(t)
	cfg := adapt(t, bin, caddyEnv(t, "blog.example.com", "", "email ops@example.com"))
	raw, _ := json.Marshal(cfg)

	servers, _ := path(cfg, "apps", "http", "servers").(map[string]any)
	if len(servers) != 1 {
		t.Fatalf("want one server, have %d: %s", len(servers), raw)
	}
	for name, srv := range servers {
		if listen := fmt.Sprint(path(srv, "listen")); listen != "[:443]" {
			t.Errorf("server %s listens on %s, want [:443]: automatic HTTPS for a domain", name, listen)
		}
		if disabled := path(srv, "automatic_https", "disable"); disabled == true {
			t.Errorf("server %s disables automatic HTTPS", name)
		}
		if path(srv, "read_header_timeout") == nil {
			t.Errorf("server %s has no read_header timeout", name)
		}
	}

	if issuers := find(cfg, "module", "acme"); len(issuers) == 0 || issuers[0]["email"] != "ops@example.com" {
		t.Errorf("ACME issuer with the account email not found: %v", issuers)
	}

	headers := find(cfg, "handler", "headers")
	if len(headers) != 1 || path(headers[0], "response", "deferred") != true ||
		path(headers[0], "response", "set", "Strict-Transport-Security") == nil {
		t.Errorf("want one deferred headers handler setting HSTS, have %v", headers)
	}

	encode := find(cfg, "handler", "encode")
	if len(encode) != 1 || path(encode[0], "encodings", "zstd") == nil || path(encode[0], "encodings", "gzip") == nil {
		t.Errorf("want an encode handler with zstd and gzip, have %v", encode)
	}

	var accessJSON bool
	logs, _ := path(cfg, "logging", "logs").(map[string]any)
	for _, l := range logs {
		include := fmt.Sprint(path(l, "include"))
		if strings.Contains(include, "http.log.access") && path(l, "encoder", "format") == "json" && path(l, "writer", "output") == "stdout" {
			accessJSON = true
		}
	}
	if !accessJSON {
		t.Errorf("no JSON access log on stdout in %v", logs)
	}

	proxies := find(cfg, "handler", "reverse_proxy")
	if len(proxies) != 1 {
		t.Fatalf("want one reverse_proxy, have %d", len(proxies))
	}
	rp := proxies[0]
	// The alias host/deploy gives the healthy app; Docker's DNS answers
	// with every container that has it.
	if got := fmt.Sprint(path(rp, "upstreams")); got != "[map[dial:blog-live:8080]]" {
		t.Errorf("upstreams = %s, want blog-live:8080, the alias host/deploy gives", got)
	}
	// An active check on the one upstream name would reach the draining
	// old app as often as the new one and, on its 503, take the whole site
	// out of the pool; health is host/deploy's decision, before the alias.
	if hc := path(rp, "health_checks"); hc != nil {
		t.Errorf("health_checks = %v, want none", hc)
	}
	// No request is sent on a connection the draining app is about to
	// close: Caddy drops idle connections before the app's drain ends (the
	// app closes every connection it answers while draining).
	idle, _ := path(rp, "transport", "keep_alive", "idle_timeout").(float64)
	delay, err := time.ParseDuration(env(service(t, mustLoadCompose(t, prodEnv()), "app"), "BLOG_SHUTDOWN_DELAY"))
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Duration(idle); idle == 0 || d >= delay/2 {
		t.Errorf("idle connections to the app are kept %s, want under half the app's shutdown delay %s", d, delay)
	}
	if try, _ := path(rp, "load_balancing", "try_duration").(float64); try == 0 {
		t.Error("no try_duration: a request fails at once while no app has the alias, instead of waiting for one")
	}
}

// caddyServer is a running Caddy in front of the blog.
type caddyServer struct {
	*process
	url string
}

// startCaddy runs Caddy on the Caddyfile in front of upstream, as the
// proxy container does, on a free port of 127.0.0.1.
func startCaddy(t testing.TB, upstream string) *caddyServer {
	t.Helper()
	bin := caddyBinary(t)
	url := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	p := start(t, bin, caddyEnv(t, url, upstream, ""), "run", "--config", caddyfile, "--adapter", "caddyfile")
	waitStatus(t, http.DefaultClient, url+"/readyz", http.StatusOK, 20*time.Second, p.done)
	return &caddyServer{process: p, url: url}
}

// plainClient sends exactly the headers a test sets: Go's transport would
// otherwise ask for gzip and decode it behind the test's back.
var plainClient = &http.Client{
	Transport: &http.Transport{DisableCompression: true},
	CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	},
	Timeout: 10 * time.Second,
}

func TestCaddyInFrontOfBlog(t *testing.T) {
	caddyBinary(t) // skip before building the blog when Caddy is missing
	blog := startBlog(t)
	caddy := startCaddy(t, blog.addr)

	tests := []struct {
		name           string
		path           string
		acceptEncoding string
		wantStatus     int
		wantEncoding   string
	}{
		{"home, zstd preferred", "/", "zstd, gzip", 200, "zstd"},
		{"home, gzip", "/", "gzip", 200, "gzip"},
		{"home, uncompressed", "/", "", 200, ""},
		{"liveness", "/healthz", "", 200, ""},
		// Below Caddy's minimum length (512 bytes) compressing costs more
		// than it saves.
		{"tiny response stays uncompressed", "/healthz", "gzip", 200, ""},
		{"not found still gets the headers", "/posts/no-such-post", "gzip", 404, "gzip"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, caddy.url+tt.path, nil)
			if tt.acceptEncoding != "" {
				req.Header.Set("Accept-Encoding", tt.acceptEncoding)
			}
			resp, err := plainClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if got := resp.Header.Get("Content-Encoding"); got != tt.wantEncoding {
				t.Errorf("Content-Encoding = %q, want %q", got, tt.wantEncoding)
			}
			body := decode(t, resp)
			if tt.wantStatus == 200 && len(body) == 0 {
				t.Error("empty body")
			}
			if strings.HasPrefix(tt.path, "/posts") || tt.path == "/" {
				if !bytes.Contains(bytes.ToLower(body), []byte("<html")) {
					t.Errorf("the body is not the blog's HTML page:\n%.300s", body)
				}
			}
			if hsts := resp.Header.Values("Strict-Transport-Security"); len(hsts) != 1 || !strings.HasPrefix(hsts[0], "max-age=") {
				t.Errorf("Strict-Transport-Security = %q, want exactly one max-age", hsts)
			}
			if s := resp.Header.Get("Server"); s != "" {
				t.Errorf("Server = %q, want none", s)
			}
		})
	}

	t.Run("JSON access log", func(t *testing.T) {
		const marker = "/?access-log-marker=1"
		resp, err := plainClient.Get(caddy.url + marker)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		deadline := time.Now().Add(5 * time.Second)
		for {
			if entry := accessLogEntry(caddy.out.String(), marker); entry != nil {
				if entry.Status != resp.StatusCode || entry.Request.Method != http.MethodGet {
					t.Errorf("access log entry %+v does not match the request (status %d)", entry, resp.StatusCode)
				}
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("no JSON access log line for %s in Caddy's output", marker)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}

// accessLogLine is the part of Caddy's JSON access log a test reads.
type accessLogLine struct {
	Logger  string `json:"logger"`
	Status  int    `json:"status"`
	Request struct {
		Method string `json:"method"`
		URI    string `json:"uri"`
	} `json:"request"`
}

func accessLogEntry(output, uri string) *accessLogLine {
	sc := bufio.NewScanner(strings.NewReader(output))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		var l accessLogLine
		if json.Unmarshal(sc.Bytes(), &l) == nil && strings.HasPrefix(l.Logger, "http.log.access") && l.Request.URI == uri {
			return &l
		}
	}
	return nil
}

// decode reads a response body, undoing its Content-Encoding.
func decode(t testing.TB, resp *http.Response) []byte {
	t.Helper()
	var r io.Reader = resp.Body
	switch enc := resp.Header.Get("Content-Encoding"); enc {
	case "":
	case "gzip":
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			t.Fatalf("gzip body: %v", err)
		}
		r = zr
	case "zstd":
		zr, err := zstd.NewReader(resp.Body)
		if err != nil {
			t.Fatalf("zstd body: %v", err)
		}
		defer zr.Close()
		r = zr
	default:
		t.Fatalf("unexpected Content-Encoding %q", enc)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("reading a %s body: %v", resp.Header.Get("Content-Encoding"), err)
	}
	return b
}

// TestCaddyAutomaticHTTPS runs the production config (adapted from the
// Caddyfile for the name localhost, which Caddy certifies with its internal
// CA instead of Let's Encrypt) on private ports: HTTP redirects to HTTPS,
// HTTPS serves the blog with HSTS.
func TestCaddyAutomaticHTTPS(t *testing.T) {
	bin := caddyBinary(t)
	blog := startBlog(t)
	httpPort, httpsPort := freePort(t), freePort(t)
	env := caddyEnv(t, "localhost", blog.addr, "")
	cfg := adapt(t, bin, env)

	// Only what a test machine needs changes: ports, and no root CA
	// installed into the system's trust store.
	httpApp := path(cfg, "apps", "http").(map[string]any)
	httpApp["http_port"], httpApp["https_port"] = httpPort, httpsPort
	for _, srv := range httpApp["servers"].(map[string]any) {
		srv.(map[string]any)["listen"] = []string{fmt.Sprintf("127.0.0.1:%d", httpsPort)}
	}
	apps := cfg["apps"].(map[string]any)
	apps["pki"] = map[string]any{"certificate_authorities": map[string]any{"local": map[string]any{"install_trust": false}}}
	patched, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(t.TempDir(), "caddy.json")
	if err := os.WriteFile(config, patched, 0o600); err != nil {
		t.Fatal(err)
	}
	p := start(t, bin, env, "run", "--config", config)

	// HTTP answers with a redirect to the same path over HTTPS.
	httpURL := fmt.Sprintf("http://localhost:%d/tags/go?page=2", httpPort)
	var resp *http.Response
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err = plainClient.Get(httpURL)
		if err == nil || time.Now().After(deadline) {
			break
		}
		select {
		case <-p.done:
			t.Fatal("caddy exited")
		case <-time.After(100 * time.Millisecond):
		}
	}
	if err != nil {
		t.Fatalf("GET %s: %v", httpURL, err)
	}
	resp.Body.Close()
	// Caddy leaves out the port when the server listens on its https_port,
	// as it does in production (443).
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusPermanentRedirect || err != nil ||
		loc.Scheme != "https" || loc.Hostname() != "localhost" || loc.RequestURI() != "/tags/go?page=2" {
		t.Errorf("GET %s = %s to %q, want 308 to https://localhost/tags/go?page=2", httpURL, resp.Status, resp.Header.Get("Location"))
	}

	// HTTPS with a certificate from Caddy's CA, which the test trusts.
	dataHome := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "XDG_DATA_HOME="); ok {
			dataHome = v
		}
	}
	rootCA := filepath.Join(dataHome, "caddy", "pki", "authorities", "local", "root.crt")
	var pemCA []byte
	for deadline := time.Now().Add(20 * time.Second); ; {
		if pemCA, err = os.ReadFile(rootCA); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("Caddy's local CA: %v", err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemCA)
	client := &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{RootCAs: pool},
			ForceAttemptHTTP2: true,
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, fmt.Sprintf("127.0.0.1:%d", httpsPort))
			},
		},
	}
	var hresp *http.Response
	for deadline := time.Now().Add(20 * time.Second); ; {
		hresp, err = client.Get(fmt.Sprintf("https://localhost:%d/", httpsPort))
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond) // the certificate is issued in the background
	}
	if err != nil {
		t.Fatalf("HTTPS request: %v", err)
	}
	defer hresp.Body.Close()
	io.Copy(io.Discard, hresp.Body)
	if hresp.StatusCode != http.StatusOK {
		t.Errorf("HTTPS GET / = %s, want 200", hresp.Status)
	}
	if hresp.ProtoMajor != 2 {
		t.Errorf("HTTPS served %s, want HTTP/2", hresp.Proto)
	}
	if hsts := hresp.Header.Values("Strict-Transport-Security"); len(hsts) != 1 {
		t.Errorf("Strict-Transport-Security over HTTPS = %q, want exactly one", hsts)
	}
}
