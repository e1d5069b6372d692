package web

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/blogstack/blogstack/blog/internal/store"
)

// oldAddress answers a GET of an imported post's old address (its Django,
// WordPress or Ghost URL) with a 301 to the post, and reports whether it
// did. Only published posts are found, so a draft's old URL stays a 404.
func (s *Server) oldAddress(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	slug, err := s.store.RedirectPath(r.Context(), r.URL.Path)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			// The page is still answered (a 404); the operator learns why.
			s.log.Error("look up an old address", "path", r.URL.Path, "err", err)
		}
		return false
	}
	http.Redirect(w, r, "/posts/"+url.PathEscape(slug), http.StatusMovedPermanently)
	return true
}
