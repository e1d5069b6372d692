package web

import "net/http"

// routes is the blog's whole route table.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()

	// Readers.
	mux.Handle("GET /{$}", s.cached(s.handleHome()))
	mux.Handle("GET /posts/{slug}", s.cached(s.handlePost()))
	mux.Handle("POST /posts/{slug}/comments", s.handleComment())
	mux.Handle("GET /tags/{tag}", s.cached(s.handleTag()))
	mux.Handle("GET /search", s.cached(s.handleSearch()))

	// Machines.
	mux.Handle("GET /feed.atom", s.cached(s.handleAtom()))
	mux.Handle("GET /feed.rss", s.cached(s.handleRSS()))
	mux.Handle("GET /sitemap.xml", s.cached(s.handleSitemap()))
	mux.Handle("GET /robots.txt", s.cached(s.handleRobots()))
	mux.Handle("GET /healthz", s.handleHealthz())
	mux.Handle("GET /readyz", s.handleReadyz())
	mux.Handle("GET /static/{file}", s.assets)
	mux.Handle("GET /media/{file}", s.handleMediaFile())

	// Authors.
	mux.Handle("GET /login", s.handleLoginForm())
	mux.Handle("POST /login", s.handleLogin())
	mux.Handle("POST /logout", s.handleLogout())
	author := s.requireAuthor
	mux.Handle("GET /admin", author(s.handleDashboard()))
	mux.Handle("GET /admin/posts/new", author(s.handleNewPost()))
	mux.Handle("POST /admin/posts", author(s.handleSavePost(true)))
	mux.Handle("GET /admin/posts/{id}/edit", author(s.handleEditPost()))
	mux.Handle("POST /admin/posts/{id}", author(s.handleSavePost(false)))
	mux.Handle("GET /admin/posts/{id}/delete", author(s.handleConfirmDelete()))
	mux.Handle("POST /admin/posts/{id}/delete", author(s.handleDeletePost()))
	mux.Handle("POST /admin/preview", author(s.handlePreview()))
	mux.Handle("GET /admin/media", author(s.handleMediaLibrary()))
	mux.Handle("POST /admin/media", author(s.handleUpload()))
	mux.Handle("POST /admin/media/{id}/delete", author(s.handleDeleteMedia()))
	mux.Handle("GET /admin/comments", author(s.handleModeration()))
	mux.Handle("POST /admin/comments/{id}/approve", author(s.handleModerate("approved", s.store.ApproveComment)))
	mux.Handle("POST /admin/comments/{id}/delete", author(s.handleModerate("deleted", s.store.DeleteComment)))
	mux.Handle("GET /admin/authors", author(s.requireAdmin(s.handleAuthors())))
	mux.Handle("POST /admin/authors", author(s.requireAdmin(s.handleSaveAuthor())))
	mux.Handle("POST /admin/authors/{id}/disable", author(s.requireAdmin(s.handleAuthorAction("disabled"))))
	mux.Handle("POST /admin/authors/{id}/enable", author(s.requireAdmin(s.handleAuthorAction("enabled"))))
	mux.Handle("POST /admin/authors/{id}/delete", author(s.requireAdmin(s.handleAuthorAction("deleted"))))
	mux.Handle("GET /admin/account", author(s.handleAccount()))
	mux.Handle("POST /admin/account/password", author(s.handleChangePassword()))
	mux.Handle("POST /admin/account/sessions/{handle}/delete", author(s.handleEndSession()))
	mux.Handle("POST /admin/account/sessions/others/delete", author(s.handleEndOtherSessions()))

	// Outermost first: every response, including errors and panics, is
	// logged and carries the security headers; cross-origin form posts
	// (CSRF) are refused before any handler runs. Cached routes answer
	// conditional requests themselves; the others go through
	// conditionalGet (see unmatched).
	s.condMux = s.timeLimit(conditionalGet(mux))
	return s.logRequests(s.securityHeaders(s.recoverPanics(s.crossOrigin(s.parseForms(s.unmatched(mux))))))
}
