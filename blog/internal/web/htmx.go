package web

import (
	"context"
	"net/http"

	"github.com/a-h/templ"
)

// htmx request headers.
const (
	hxRequest        = "HX-Request"
	hxBoosted        = "HX-Boosted"
	hxHistoryRestore = "HX-History-Restore-Request"
)

// htmxConfig is htmx's configuration, served in <meta name="htmx-config">:
// requests only to this origin, no eval, no script tags from responses and
// no injected indicator styles, so the CSP needs no 'unsafe-*'. Forms that
// fail validation (422), conflict with a newer save (409) or hit a rate
// limit (429) are swapped in like any answer, so the reader sees the errors
// next to their input.
const htmxConfig = `{"selfRequestsOnly":true,"allowEval":false,"allowScriptTags":false,` +
	`"includeIndicatorStyles":false,"historyCacheSize":0,"refreshOnHistoryMiss":true,` +
	`"responseHandling":[{"code":"204","swap":false},{"code":"[23]..","swap":true},` +
	`{"code":"409","swap":true},{"code":"42[29]","swap":true},{"code":"[45]..","swap":false,"error":true}]}`

// wantsFragment reports whether htmx asked for a part of a page: an htmx
// request that is neither boosted navigation nor a history restore (those
// need the whole page). Handlers that call it vary on those headers.
func wantsFragment(w http.ResponseWriter, r *http.Request) bool {
	w.Header().Add("Vary", hxRequest+", "+hxBoosted+", "+hxHistoryRestore)
	return isFragmentRequest(r)
}

// isFragmentRequest is wantsFragment without the Vary header, for handlers
// that skip work only the full page needs.
func isFragmentRequest(r *http.Request) bool {
	return r.Header.Get(hxRequest) == "true" &&
		r.Header.Get(hxBoosted) != "true" &&
		r.Header.Get(hxHistoryRestore) != "true"
}

// render writes the fragment to htmx requests that want one and the full
// page to everyone else.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, page, fragment templ.Component) {
	c := page
	if fragment != nil && wantsFragment(w, r) {
		c = fragment
	}
	s.write(w, r, status, c)
}

// write renders a component with a status code.
func (s *Server) write(w http.ResponseWriter, r *http.Request, status int, c templ.Component) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := c.Render(context.WithoutCancel(r.Context()), w); err != nil {
		s.log.Error("render", "path", r.URL.Path, "err", err)
	}
}
