package web_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// scrape reads the metrics the way Prometheus or the CloudWatch agent does:
// over HTTP from the metrics handler, never from the blog's own listener.
func (f *fixture) scrape() string {
	f.t.Helper()
	srv := httptest.NewServer(f.metrics.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		f.t.Fatalf("scrape: %d %v", resp.StatusCode, err)
	}
	return string(b)
}

// sample is the value of one series in a scrape, 0 when it is absent.
func sample(t *testing.T, scrape, series string) float64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindStringSubmatch(scrape)
	if m == nil {
		return 0
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestMetricsCountRequests(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		posts := `blog_http_requests_total{code="200",route="GET /posts/{slug}"}`
		missing := `blog_http_requests_total{code="404",route="GET /posts/{slug}"}`
		unmatched := `blog_http_requests_total{code="404",route="unmatched"}`
		latency := `blog_http_request_duration_seconds_count{route="GET /posts/{slug}"}`
		before := f.scrape()

		f.page("/posts/post-01", 200)
		f.page("/posts/post-02", 200)
		f.page("/posts/no-such-post", 404)
		for _, p := range []string{"/wp-login.php", "/random/" + strings.Repeat("x", 40)} {
			if resp, _ := f.get(p); resp.StatusCode != 404 {
				t.Fatalf("%s: %d", p, resp.StatusCode)
			}
		}

		after := f.scrape()
		for series, want := range map[string]float64{posts: 2, missing: 1, unmatched: 2, latency: 3} {
			if got := sample(t, after, series) - sample(t, before, series); got != want {
				t.Errorf("%s moved by %v, want %v", series, got, want)
			}
		}
		// Paths never become labels: a scanner cannot grow the series.
		if strings.Contains(after, "wp-login") || strings.Contains(after, "post-01") {
			t.Errorf("a path became a label:\n%s", after)
		}
		for _, want := range []string{
			`blog_build_info{commit="abc123",goversion="go`,
			`blog_http_request_duration_seconds_bucket{route="GET /posts/{slug}",le="0.005"}`,
			"go_sql_max_open_connections", "go_sql_in_use_connections", "go_goroutines",
		} {
			if !strings.Contains(after, want) {
				t.Errorf("scrape lacks %s", want)
			}
		}

		// The page cache counts its lookups: one more hit for a page
		// served twice.
		hits, misses := `blog_cache_lookups_total{cache="pages",result="hit"}`, `blog_cache_lookups_total{cache="pages",result="miss"}`
		f.page("/posts/post-03", 200)
		f.page("/posts/post-03", 200)
		f.page("/posts/post-03", 200)
		cached := f.scrape()
		if hit, miss := sample(t, cached, hits)-sample(t, after, hits), sample(t, cached, misses)-sample(t, after, misses); hit != 2 || miss != 1 {
			t.Errorf("cache lookups: %v hits and %v misses, want 2 and 1", hit, miss)
		}
	})
}

func TestMetricsNotOnThePublicListener(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		for _, p := range []string{"/metrics", "/metrics/", "/debug/vars"} {
			resp, body := f.get(p)
			if resp.StatusCode != 404 || strings.Contains(body, "blog_http_requests_total") {
				t.Errorf("GET %s on the public listener: %d\n%.200s", p, resp.StatusCode, body)
			}
		}
	})
}

func TestHealthzNamesTheRelease(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		resp, body := f.get("/healthz")
		var got struct{ Status, Version, Commit string }
		if err := json.Unmarshal([]byte(body), &got); err != nil || resp.StatusCode != 200 {
			t.Fatalf("healthz: %d %q: %v", resp.StatusCode, body, err)
		}
		if got.Status != "ok" || got.Version != "v-test" || got.Commit != "abc123" {
			t.Errorf("healthz = %+v, want ok, v-test, abc123", got)
		}
		if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control %q", cc)
		}
	})
}
