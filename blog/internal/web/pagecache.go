package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/blogstack/blogstack/blog/internal/store"
)

// Reader-facing pages are rendered once and then served from memory
// (package cache) until a write changes what they show: the store
// announces every such write, here and through PostgreSQL to the other
// instances, and the cache drops everything; the write returns only once
// every instance has dropped its cache (store.announce), so the next
// request anywhere sees it. A page stays in memory at most until the next
// scheduled post goes out.
//
// Parts that belong to one request are never cached. A post's comment form
// carries a signed, single-use token; the page is rendered with a
// placeholder (tokenSlot) in its place, and each response gets a fresh
// token there.

// page is one cached response: a 200 with its body. The header values are
// slices made once and shared by every response that serves the page.
type page struct {
	contentType []string
	vary        []string
	etag        string   // unquoted; a page with a token slot appends the token's period
	quotedETag  []string // the ETag header of a page without a slot
	length      []string // the Content-Length of a page without a slot
	body        []byte   // without the placeholder
	slot        int      // where the comment token goes in body, or -1
	postID      int64    // the post the comment token is for
}

// size is what the page costs the cache.
func (p *page) size() int { return len(p.body) + 2*len(p.etag) + 128 }

// noCache makes browsers revalidate (cheaply, with the ETag) every time,
// so that an edit shows on the next load.
var noCache = []string{"no-cache"}

// bufs are response buffers for pages that get a token: the page goes out
// in one write instead of three.
var bufs = sync.Pool{New: func() any { return new([]byte) }}

// tokenPeriod is how long a revalidated post page may keep the comment
// token it was first served with: well within commentTokenTTL, so that a
// 304 never leaves a reader with an expired form.
const tokenPeriod = commentTokenTTL / 2

// pageInfo is how a handler tells the cache about the page it renders.
type pageInfo struct {
	commentsFor int64 // the post whose comment form is behind the token slot
}

type pageInfoKey struct{}

// tokenFor is what a handler puts in the comment form of post: the
// placeholder when the cache fills it in, else a fresh token.
func (s *Server) tokenFor(ctx context.Context, post store.Post) string {
	if info, ok := ctx.Value(pageInfoKey{}).(*pageInfo); ok {
		info.commentsFor = post.ID
		return s.tokenSlot
	}
	return s.commentForm(post).Token
}

// cachedHandler serves a route's GET and HEAD answers from the page cache.
type cachedHandler struct {
	s    *Server
	next http.Handler
}

// cached makes a reader-facing route's pages cacheable.
func (s *Server) cached(next http.Handler) http.Handler { return &cachedHandler{s: s, next: next} }

func (h *cachedHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s := h.s
	key := r.URL.Path + "?" + r.URL.RawQuery
	if isFragmentRequest(r) {
		key += "#fragment"
	}
	if p, ok := s.pages.Get(key); ok {
		s.metrics.CacheHit("pages")
		s.servePage(w, r, p)
		return
	}
	s.metrics.CacheMiss("pages")
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	info := &pageInfo{}
	r = r.WithContext(context.WithValue(ctx, pageInfoKey{}, info))
	gen := s.pages.Generation()
	// The archive's next publication bounds how long what is rendered now
	// may be kept; without it (database down) nothing is stored.
	_, archErr := s.archive(r.Context())
	rec := &etagRecorder{header: w.Header()}
	h.next.ServeHTTP(rec, r)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	if rec.status != http.StatusOK || w.Header().Get("Set-Cookie") != "" || w.Header().Get("Cache-Control") == "no-store" {
		w.WriteHeader(rec.status)
		if r.Method != http.MethodHead {
			_, _ = w.Write(rec.body.Bytes())
		}
		return
	}
	p := &page{
		contentType: []string{w.Header().Get("Content-Type")},
		vary:        slices.Clip(w.Header().Values("Vary")), // shared: an Add must not write into it
		body:        bytes.Clone(rec.body.Bytes()),
		slot:        -1,
	}
	if info.commentsFor != 0 {
		if i := bytes.Index(p.body, []byte(s.tokenSlot)); i >= 0 {
			p.slot, p.postID = i, info.commentsFor
			p.body = append(p.body[:i], p.body[i+len(s.tokenSlot):]...)
		}
	}
	sum := sha256.Sum256(p.body)
	p.etag = base64.RawURLEncoding.EncodeToString(sum[:18])
	p.quotedETag = []string{`"` + p.etag + `"`}
	p.length = []string{strconv.Itoa(len(p.body))}
	if archErr == nil {
		s.pages.Put(gen, key, p, p.size())
	}
	s.servePage(w, r, p)
}

// servePage answers with a cached page: a 304 when the reader has it, the
// body with a fresh comment token otherwise.
func (s *Server) servePage(w http.ResponseWriter, r *http.Request, p *page) {
	h := w.Header()
	h["Content-Type"] = p.contentType
	if len(p.vary) > 0 {
		h["Vary"] = p.vary
	}
	h["Cache-Control"] = noCache
	if p.slot < 0 {
		h["ETag"] = p.quotedETag
		if etagMatch(r.Header.Get("If-None-Match"), p.quotedETag[0]) {
			delete(h, "Content-Type")
			w.WriteHeader(http.StatusNotModified)
			return
		}
		h["Content-Length"] = p.length
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			_, _ = w.Write(p.body)
		}
		return
	}
	now := time.Now()
	etag := `"` + p.etag + "." + strconv.FormatInt(now.Unix()/int64(tokenPeriod/time.Second), 36) + `"`
	h.Set("ETag", etag)
	if etagMatch(r.Header.Get("If-None-Match"), etag) {
		delete(h, "Content-Type")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	token := s.commentTokenAt(p.postID, now)
	h.Set("Content-Length", strconv.Itoa(len(p.body)+len(token)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	buf := bufs.Get().(*[]byte)
	b := append((*buf)[:0], p.body[:p.slot]...)
	b = append(b, token...)
	b = append(b, p.body[p.slot:]...)
	_, _ = w.Write(b)
	*buf = b
	bufs.Put(buf)
}

// archiveMemo is the store's Archive as of one cache generation.
type archiveMemo struct {
	gen    uint64
	a      store.Archive
	bySlug map[string]store.TagCount
}

// archive is the store's Archive, read once per cache generation (so once
// per change) rather than per request; it also tells the cache when the
// generation ends by itself (the next scheduled post).
func (s *Server) archive(ctx context.Context) (*archiveMemo, error) {
	gen := s.pages.Generation()
	if m := s.arch.Load(); m != nil && m.gen == gen {
		return m, nil
	}
	s.archMu.Lock() // one reader loads it; the others wait for that
	defer s.archMu.Unlock()
	if m := s.arch.Load(); m != nil && m.gen == gen {
		return m, nil
	}
	a, err := s.store.Archive(ctx)
	if err != nil {
		return nil, err
	}
	m := &archiveMemo{gen: gen, a: a, bySlug: make(map[string]store.TagCount, len(a.Tags))}
	for _, t := range a.Tags {
		m.bySlug[t.Slug] = t
	}
	s.arch.Store(m)
	s.pages.SetExpiry(gen, a.NextPublication)
	return m, nil
}
