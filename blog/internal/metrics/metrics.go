// Package metrics holds the blog's Prometheus metrics: requests by route
// pattern and status, latency, cache lookups, the database pool and the
// build. They are served on their own listener (BLOG_METRICS_ADDR), never
// through the public one, so the proxy cannot publish them.
package metrics

import (
	"database/sql"
	"net/http"
	"runtime"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Build is which release is running: stamped into the binary at build time.
type Build struct {
	Version, Commit string
}

// Metrics is the blog's registry and the instruments handlers feed. The zero
// value is not usable; use New.
type Metrics struct {
	build    Build
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	cache    *prometheus.CounterVec
}

// Unmatched is the route label of a request no route pattern took (a 404, a
// 405, an old address answered with a redirect): one label value, so a
// scanner's random paths cannot grow the series without bound.
const Unmatched = "unmatched"

// LatencyBuckets are the request duration buckets in seconds: pages answer
// in milliseconds, so the low end is fine-grained; the top is the server's
// write timeout.
var LatencyBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

// New registers the blog's metrics, Go's runtime and process metrics, the
// build and, when db is not nil, the database pool's statistics.
func New(build Build, db *sql.DB) *Metrics {
	m := &Metrics{
		build:    build,
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "blog_http_requests_total",
			Help: "HTTP requests answered, by route pattern (which names the method) and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "blog_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route pattern.",
			Buckets: LatencyBuckets,
		}, []string{"route"}),
		cache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "blog_cache_lookups_total",
			Help: "Cache lookups by cache and result (hit or miss).",
		}, []string{"cache", "result"}),
	}
	info := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "blog_build_info",
		Help: "Always 1; the labels say which release is running.",
	}, []string{"version", "commit", "goversion"})
	info.WithLabelValues(build.Version, build.Commit, runtime.Version()).Set(1)
	m.registry.MustRegister(m.requests, m.duration, m.cache, info,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	if db != nil {
		m.registry.MustRegister(collectors.NewDBStatsCollector(db, "blog"))
	}
	return m
}

// Build is the release the metrics were made for.
func (m *Metrics) Build() Build { return m.build }

// Registry is where the metrics live; tests gather from it.
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}

// ObserveRequest counts one answered request and its duration.
func (m *Metrics) ObserveRequest(route string, code int, d time.Duration) {
	if route == "" {
		route = Unmatched
	}
	m.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
	m.duration.WithLabelValues(route).Observe(d.Seconds())
}

// CacheHit counts a lookup in the named cache that found its entry.
func (m *Metrics) CacheHit(cache string) { m.cache.WithLabelValues(cache, "hit").Inc() }

// CacheMiss counts a lookup in the named cache that did not.
func (m *Metrics) CacheMiss(cache string) { m.cache.WithLabelValues(cache, "miss").Inc() }
