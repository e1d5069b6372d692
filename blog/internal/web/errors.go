package web

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/blogstack/blogstack/blog/internal/store"
	"github.com/blogstack/blogstack/blog/internal/views"
)

// retryAfter is the Retry-After, in seconds, of a 503 while the database
// is unavailable.
const retryAfter = 5

// badRequest is an error in what the client sent, explained to the reader.
type badRequest struct{ msg string }

func (e badRequest) Error() string { return e.msg }

// fail answers a handler's error: ErrNotFound is a 404 page, a badRequest a
// 400 page with its message, anything else a logged 500 with a generic page.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var bad badRequest
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.notFound(w, r)
	case errors.As(err, &bad):
		s.errorPage(w, r, http.StatusBadRequest, "That request didn’t make sense", bad.msg)
	case store.Unavailable(err):
		// The database is down or restarting: readers are told to come
		// back in a moment, and nothing pages anyone for a 500.
		s.log.Warn("database unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
		s.errorPage(w, r, http.StatusServiceUnavailable, "Back in a moment",
			"The blog cannot reach its database right now. Nothing you sent was saved; please try again in a few seconds.")
	default:
		s.serverError(w, r, err)
	}
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.errorPage(w, r, http.StatusNotFound, "Page not found",
		"There is nothing at this address. It may have moved, or the link may be mistyped.")
}

func (s *Server) serverError(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Error("server error", "method", r.Method, "path", r.URL.Path, "err", err)
	s.errorPage(w, r, http.StatusInternalServerError, "Something went wrong",
		"The blog could not answer this request. Please try again in a moment.")
}

func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, status int, heading, message string) {
	w.Header().Set("Cache-Control", "no-store")
	s.write(w, r, status, views.Error(views.ErrorPage{
		Site:    s.site(),
		Meta:    views.Meta{Title: heading, Path: r.URL.Path, Type: "website", NoIndex: true},
		Status:  status,
		Heading: heading,
		Message: message,
	}))
}

// unmatched answers what no route takes with the blog's own pages: a 404
// for a path no route has, and a 405 with Allow for a path whose routes take
// other methods (the mux knows which).
func (s *Server) unmatched(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		if pattern != "" {
			setRoute(r, pattern)
			if _, cached := h.(*cachedHandler); cached {
				mux.ServeHTTP(w, r)
			} else {
				s.condMux.ServeHTTP(w, r)
			}
			return
		}
		probe := &headerProbe{header: http.Header{}}
		h.ServeHTTP(probe, r)
		if probe.status != http.StatusMethodNotAllowed {
			if s.oldAddress(w, r) {
				return
			}
			s.notFound(w, r)
			return
		}
		w.Header().Set("Allow", probe.header.Get("Allow"))
		s.errorPage(w, r, http.StatusMethodNotAllowed, "Method not allowed",
			"This address does not take a "+r.Method+" request; it takes "+probe.header.Get("Allow")+".")
	})
}

// headerProbe keeps the status and headers of the mux's own answer and
// drops its plain-text body.
type headerProbe struct {
	header http.Header
	status int
}

func (p *headerProbe) Header() http.Header         { return p.header }
func (p *headerProbe) Write(b []byte) (int, error) { return len(b), nil }
func (p *headerProbe) WriteHeader(code int)        { p.status = code }
