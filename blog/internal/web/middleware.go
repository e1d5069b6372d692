package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"runtime/debug"
	"strings"
	"time"
	"unicode/utf8"
)

// contentSecurityPolicy allows only the blog's own scripts and styles: no
// inline script or style, no eval, no framing. Images come from the blog's
// own media and the origins the admin lists (BLOG_IMG_SRC), so a post
// cannot carry a tracking pixel from anywhere else.
func contentSecurityPolicy(imgSrc []string) string {
	return "default-src 'self'; script-src 'self'; style-src 'self'; " +
		"img-src " + strings.Join(append([]string{"'self'"}, imgSrc...), " ") + "; font-src 'self'; connect-src 'self'; object-src 'none'; " +
		"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
}

// securityHeaders sets the headers every response carries, 404s included.
// The header values are built once and shared by every response (the map
// entries are replaced, never appended to, so sharing is safe): they are on
// every request's path.
func (s *Server) securityHeaders(next http.Handler) http.Handler {
	headers := http.Header{}
	headers.Set("Content-Security-Policy", s.csp)
	headers.Set("X-Content-Type-Options", "nosniff")
	headers.Set("Referrer-Policy", "strict-origin-when-cross-origin")
	headers.Set("X-Frame-Options", "DENY")
	headers.Set("Cross-Origin-Opener-Policy", "same-origin")
	headers.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()")
	if s.cfg.Secure() {
		headers.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
	}
	if s.cfg.Preview {
		headers.Set("X-Robots-Tag", "noindex, nofollow")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		for k, v := range headers {
			h[k] = v[:1:1]
		}
		next.ServeHTTP(w, r)
	})
}

// crossOrigin refuses state-changing requests from other origins (CSRF),
// using the browser's Sec-Fetch-Site and Origin headers.
func (s *Server) crossOrigin(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.log.Warn("cross-origin request refused", "method", r.Method, "path", r.URL.Path, "origin", r.Header.Get("Origin"))
		s.errorPage(w, r, http.StatusForbidden, "Request refused",
			"This form was sent from another site, so it was not accepted. Go back to the page, reload it and send the form again.")
	}))
	return cop.Handler(next)
}

// maxBody bounds what a form may send; a post body is at most 200 KB.
const maxBody = 1 << 20

// parseForms caps request bodies so that a huge upload cannot exhaust
// memory, and parses forms once, answering a clear 413 or 400 instead of
// letting a handler see empty fields.
func (s *Server) parseForms(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit := int64(maxBody)
		if r.Method == http.MethodPost && r.URL.Path == "/admin/media" {
			limit = uploadBody // multipart: ParseForm leaves it to the handler
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		if r.Method == http.MethodPost {
			if err := r.ParseForm(); err != nil {
				var tooBig *http.MaxBytesError
				if errors.As(err, &tooBig) {
					s.errorPage(w, r, http.StatusRequestEntityTooLarge, "That was too much",
						fmt.Sprintf("The form sent more than %d KB, which is more than this blog accepts. Nothing was saved.", maxBody>>10))
					return
				}
				s.fail(w, r, badRequest{"The form could not be read: " + err.Error() + "."})
				return
			}
		}
		if err := controlCharacters(r); err != nil {
			s.fail(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// controlCharacters refuses a request whose path, query or form holds a
// control character or is not UTF-8, naming where: no handler, database or
// log line ever sees a NUL (PostgreSQL cannot store one) or an escape
// sequence. Form values may hold tabs and line breaks (a post's body does).
func controlCharacters(r *http.Request) error {
	if bad, ok := badRune(r.URL.Path, false); !ok {
		return badRequest{fmt.Sprintf("The address contains %s, which this blog does not accept.", bad)}
	}
	check := func(what string, values url.Values, multiline bool) error {
		for k, vs := range values {
			if bad, ok := badRune(k, false); !ok {
				return badRequest{fmt.Sprintf("A %s name contains %s, which this blog does not accept.", what, bad)}
			}
			for _, v := range vs {
				if bad, ok := badRune(v, multiline); !ok {
					return badRequest{fmt.Sprintf("The %s “%s” contains %s, which this blog does not accept.", what, k, bad)}
				}
			}
		}
		return nil
	}
	if err := check("query parameter", r.URL.Query(), false); err != nil {
		return err
	}
	return check("field", r.PostForm, true)
}

// badRune finds the first character of s that is not accepted: invalid
// UTF-8, or a C0 or C1 control character (but tab, CR and LF when
// multiline). It describes it for the reader.
func badRune(s string, multiline bool) (string, bool) {
	if !utf8.ValidString(s) {
		return "bytes that are not valid UTF-8", false
	}
	for _, c := range s {
		switch {
		case multiline && (c == '\t' || c == '\n' || c == '\r'):
		case c < 0x20 || (c >= 0x7f && c < 0xa0):
			return fmt.Sprintf("a control character (U+%04X)", c), false
		}
	}
	return "", true
}

// recoverPanics turns a panicking handler into a logged 500 page.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.serverError(w, r, fmt.Errorf("panic: %v\n%s", v, debug.Stack()))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// statusRecorder remembers what a handler answered, for the request log.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += n
	return n, err
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// routeKey holds, in a request's context, where the route pattern that
// took the request is written (by unmatched, the handler around the mux).
type routeKey struct{}

// setRoute records the route pattern that took r for the request log and
// the metrics.
func setRoute(r *http.Request, pattern string) {
	if p, ok := r.Context().Value(routeKey{}).(*string); ok {
		*p = pattern
	}
}

// logRequests writes one log line per request and counts it in the metrics
// by route pattern (never by path: paths are unbounded).
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		route := new(string)
		r = r.WithContext(context.WithValue(r.Context(), routeKey{}, route))
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		elapsed := time.Since(start)
		s.metrics.ObserveRequest(*route, rec.status, elapsed)
		level := slog.LevelInfo
		if rec.status >= 500 {
			level = slog.LevelError
		}
		s.log.LogAttrs(r.Context(), level, "request",
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.String("route", *route),
			slog.Int("status", rec.status),
			slog.Int("bytes", rec.bytes),
			slog.Duration("duration", elapsed),
			slog.String("ip", s.clientIP(r)),
			slog.Bool("htmx", r.Header.Get(hxRequest) != ""),
		)
	})
}

// clientIP is the address of the reader: the connection's peer, or, when
// that peer is a trusted proxy, the nearest untrusted address it forwarded.
func (s *Server) clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !s.trusted(peer) {
		return host
	}
	hops := strings.Split(r.Header.Get("X-Forwarded-For"), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		addr, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		if !s.trusted(addr) {
			return addr.String()
		}
	}
	return host
}

func (s *Server) trusted(addr netip.Addr) bool {
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(addr.Unmap()) {
			return true
		}
	}
	return false
}

// etagRecorder buffers a response so that its ETag can be computed.
type etagRecorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (e *etagRecorder) Header() http.Header { return e.header }
func (e *etagRecorder) WriteHeader(code int) {
	if e.status == 0 {
		e.status = code
	}
}
func (e *etagRecorder) Write(b []byte) (int, error) {
	if e.status == 0 {
		e.status = http.StatusOK
	}
	return e.body.Write(b)
}

// conditionalGet gives successful GET responses a strong ETag computed from
// their body and answers 304 Not Modified when the client already has it,
// so revalidating pages and feeds costs a few bytes.
func conditionalGet(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			next.ServeHTTP(w, r)
			return
		}
		rec := &etagRecorder{header: w.Header()}
		next.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		if rec.status == http.StatusOK && w.Header().Get("ETag") == "" {
			sum := sha256.Sum256(rec.body.Bytes())
			etag := `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`
			w.Header().Set("ETag", etag)
			if w.Header().Get("Cache-Control") == "" {
				w.Header().Set("Cache-Control", "no-cache")
			}
			if etagMatch(r.Header.Get("If-None-Match"), etag) {
				for _, h := range []string{"Content-Type", "Content-Length"} {
					w.Header().Del(h)
				}
				w.WriteHeader(http.StatusNotModified)
				return
			}
		}
		w.WriteHeader(rec.status)
		if r.Method != http.MethodHead {
			_, _ = w.Write(rec.body.Bytes())
		}
	})
}

// etagMatch implements If-None-Match's weak comparison over a list.
func etagMatch(header, etag string) bool {
	for _, candidate := range strings.Split(header, ",") {
		candidate = strings.TrimPrefix(strings.TrimSpace(candidate), "W/")
		if candidate == etag || candidate == "*" {
			return true
		}
	}
	return false
}

// requestTimeout bounds how long a request may wait on the database: a
// database that hangs turns into a 503, not a reader waiting forever.
const requestTimeout = 10 * time.Second

// timeLimit gives every request a deadline for the work it does.
func (s *Server) timeLimit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}
