package engine

import (
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
)

// get fetches path through the proxy over HTTPS and returns status and body.
func (h *testHost) get(path string) (int, string) {
	h.t.Helper()
	resp, err := h.client(false, false).Get("https://" + testDomain + path)
	if err != nil {
		h.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// title is the page title of the home page: which release serves it.
func (h *testHost) title() string {
	h.t.Helper()
	code, body := h.get("/")
	m := titleRE.FindStringSubmatch(body)
	if code != http.StatusOK || m == nil {
		h.t.Fatalf("GET / = %d, want 200 with a title:\n%.300s", code, body)
	}
	return m[1]
}

// TestFirstDeployOnEmptyDataVolume: a new host, an empty data volume. The
// deploy pulls every image, initialises PostgreSQL on the data volume, runs
// the migrations, starts the app and the proxy, and the site answers over
// HTTPS with the image built from the Dockerfile.
func TestFirstDeployOnEmptyDataVolume(t *testing.T) {
	h := newHost(t)
	out := h.deploy("v1")
	for _, want := range []string{"deploying " + suite.set.blog + ":v1 (last good: none)", "traffic moved to blog-app-1", "v1 is live"} {
		if !strings.Contains(out, want) {
			t.Errorf("deploy output lacks %q", want)
		}
	}
	h.mustServe("blog-app-1", "v1")

	// PostgreSQL's cluster and Caddy's certificates are on the data volume.
	for _, f := range []string{"srv/blog/postgres/18/docker/PG_VERSION", "srv/blog/caddy/data/caddy/pki/authorities/local/root.crt"} {
		if _, err := os.Stat(h.path(f)); err != nil {
			t.Errorf("not on the data volume: %v", err)
		}
	}
	if fi, err := os.Stat(h.path("etc/blog/app.env")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("app.env: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}

	if got := h.title(); releaseOf(got) != "v1" {
		t.Errorf("home page title %q, want the Dockerfile's image (title Blog)", got)
	}
	if code, body := h.get("/readyz"); code != http.StatusOK {
		t.Errorf("/readyz through the proxy = %d %s", code, body)
	}

	// Plain HTTP redirects to HTTPS.
	req, _ := http.NewRequest(http.MethodGet, "http://"+h.http+"/posts/x", nil)
	req.Host = testDomain
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusPermanentRedirect || loc != "https://"+testDomain+"/posts/x" {
		t.Errorf("http:// answered %d Location %q, want 308 to https", resp.StatusCode, loc)
	}

	// Only the proxy publishes ports, and only where it was told to.
	for _, c := range []string{"blog-db-1", "blog-app-1"} {
		if out, _ := docker("port", c); strings.TrimSpace(out) != "" {
			t.Errorf("%s publishes %s", c, out)
		}
	}
	if got := h.read("var/lib/blog/deploys.log"); !strings.Contains(got, " v1 ok\n") {
		t.Errorf("deploy history:\n%s", got)
	}

	// The deploy record and the metric the deploy-failed alarm watches,
	// as the host sends them to CloudWatch.
	reported := h.read("fake/cloudwatch.log")
	for _, want := range []string{
		"--log-group-name blog-test-host --log-stream-name deploys",
		`\"tag\":\"v1\"`, `\"result\":\"succeeded\"`,
		"--namespace blog/test --metric-name DeployFailed --value 0 ",
	} {
		if !strings.Contains(reported, want) {
			t.Errorf("CloudWatch got no %s:\n%s", want, reported)
		}
	}
}
