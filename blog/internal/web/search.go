package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/blogstack/blogstack/blog/internal/views"
)

// maxQuery is the longest search query accepted, in characters.
const maxQuery = 200

func (s *Server) handleSearch() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := strings.TrimSpace(r.URL.Query().Get("q"))
		if !utf8.ValidString(q) {
			s.fail(w, r, badRequest{"The search text is not valid UTF-8."})
			return
		}
		if n := utf8.RuneCountInString(q); n > maxQuery {
			s.fail(w, r, badRequest{fmt.Sprintf("The search text is %d characters long; the limit is %d.", n, maxQuery)})
			return
		}
		page, err := pageParam(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		vm := views.SearchPage{
			Site:  s.site(),
			Meta:  views.Meta{Title: "Search", Description: "Search the posts of " + s.cfg.Title + ".", Path: "/search", Type: "website", NoIndex: q != ""},
			Query: q,
		}
		if q != "" {
			vm.Meta.Title = "Search: " + q
			vm.Results, vm.Total, err = s.store.Search(r.Context(), q, perPage, (page-1)*perPage)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			vm.Pager = pager("/search", page, vm.Total, url.Values{"q": {q}})
			if page > vm.Pager.Pages {
				http.Redirect(w, r, pageURL("/search", vm.Pager.Pages, url.Values{"q": {q}}), http.StatusFound)
				return
			}
		}
		s.render(w, r, http.StatusOK, views.Search(vm), views.SearchResults(vm))
	})
}
