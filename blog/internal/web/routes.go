package web

import "net/http"

// routes is the blog's whole route table.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()

	mux.Handle("GET /{$}", s.handleHome())
	mux.Handle("GET /posts/{slug}", s.handlePost())
	mux.Handle("GET /tags/{tag}", s.handleTag())
	mux.Handle("GET /search", s.handleSearch())

	mux.Handle("GET /feed.atom", s.handleAtom())
	mux.Handle("GET /feed.rss", s.handleRSS())
	mux.Handle("GET /sitemap.xml", s.handleSitemap())
	mux.Handle("GET /robots.txt", s.handleRobots())

	mux.Handle("GET /healthz", s.handleHealthz())
	mux.Handle("GET /readyz", s.handleReadyz())
	mux.Handle("GET /static/{file}", s.assets)

	mux.Handle("/", s.handleNotFound())

	// Outermost first: every response, including errors and panics, is
	// logged and carries the security headers.
	return s.logRequests(s.securityHeaders(s.recoverPanics(conditionalGet(mux))))
}
