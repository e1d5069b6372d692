// Package web is the blog's HTTP layer: the route table, handlers grouped by
// resource, and the middleware applied once around them.
package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/blogstack/blogstack/blog/internal/cache"
	"github.com/blogstack/blogstack/blog/internal/config"
	"github.com/blogstack/blogstack/blog/internal/media"
	"github.com/blogstack/blogstack/blog/internal/metrics"
	"github.com/blogstack/blogstack/blog/internal/store"
	"github.com/blogstack/blogstack/blog/internal/views"
)

// Store is what the handlers need from the data layer.
type Store interface {
	Ping(ctx context.Context) error
	Posts(ctx context.Context, f store.PostFilter) ([]store.Post, int, error)
	PostBySlug(ctx context.Context, slug string) (store.Post, error)
	RedirectSlug(ctx context.Context, oldSlug string) (string, error)
	RedirectPath(ctx context.Context, path string) (string, error)
	PostList(ctx context.Context, f store.PostFilter) ([]store.Post, error)
	Archive(ctx context.Context) (store.Archive, error)
	ApprovedComments(ctx context.Context, postID int64) ([]store.Comment, error)
	Search(ctx context.Context, q string, limit, offset int) ([]store.SearchResult, int, error)
	Sitemap(ctx context.Context) ([]store.SitemapEntry, error)

	CreateComment(ctx context.Context, c store.Comment) (store.Comment, error)
	UseCommentNonce(ctx context.Context, nonce string, expires time.Time) error
	PendingComments(ctx context.Context, owner int64, limit, offset int) ([]store.PendingComment, int, error)
	PendingCommentCount(ctx context.Context, owner int64) (int, error)
	ApproveComment(ctx context.Context, id, owner int64) error
	DeleteComment(ctx context.Context, id, owner int64) error

	AuthorByEmail(ctx context.Context, email string) (store.Author, error)
	Authors(ctx context.Context) ([]store.Author, error)
	SaveAuthor(ctx context.Context, a store.Author) (store.Author, error)
	AuthorByID(ctx context.Context, id int64) (store.Author, error)
	SetPassword(ctx context.Context, authorID int64, hash, keep string) error
	SetDisabled(ctx context.Context, authorID int64, disabled bool) error
	DeleteAuthor(ctx context.Context, id, heirID int64) error
	CreateSession(ctx context.Context, sess store.Session, ttl time.Duration) error
	SessionAuthor(ctx context.Context, id string, idle time.Duration) (store.Author, error)
	Sessions(ctx context.Context, authorID int64, idle time.Duration) ([]store.Session, error)
	DeleteSession(ctx context.Context, id string) error
	DeleteAuthorSession(ctx context.Context, authorID int64, id string) error
	DeleteSessions(ctx context.Context, authorID int64, keep string) error

	PostByID(ctx context.Context, id int64) (store.Post, error)
	CreatePost(ctx context.Context, in store.PostInput) (store.Post, error)
	UpdatePost(ctx context.Context, id int64, in store.PostInput) (store.Post, error)
	DeletePost(ctx context.Context, id int64) error

	Attempts(ctx context.Context, keys ...string) (map[string]store.Attempts, error)
	AddAttempt(ctx context.Context, window time.Duration, keys ...string) (map[string]store.Attempts, error)
	RemoveAttempt(ctx context.Context, keys ...string) error
	DeleteAttempts(ctx context.Context, keys ...string) error

	// OnChange registers a function called after every write that changes
	// what readers see, in this process or (after Listen) another.
	OnChange(fn func())
	// Clock is the time as the store sees it (tests move it).
	Clock() time.Time

	SaveMedia(ctx context.Context, m store.Media) (store.Media, error)
	MediaPage(ctx context.Context, owner int64, limit, offset int) ([]store.Media, map[int64][]store.MediaUse, int, error)
	MediaByID(ctx context.Context, id, owner int64) (store.Media, error)
	MediaByName(ctx context.Context, name string) (store.Media, error)
	DeleteMedia(ctx context.Context, id, owner int64) (store.Media, bool, error)
}

// Server holds the handlers' dependencies and the readiness state.
type Server struct {
	cfg      config.Config
	store    Store
	log      *slog.Logger
	assets   *Assets
	metrics  *metrics.Metrics
	draining atomic.Bool
	handler  http.Handler
	condMux  http.Handler // the route table behind conditionalGet, for uncached routes

	pages     *cache.Cache[*page]
	arch      atomic.Pointer[archiveMemo]
	archMu    sync.Mutex
	tokenSlot string    // stands for the comment token in cached post pages
	macs      sync.Pool // of HMAC-SHA256 states keyed with the secret, for comment tokens

	media *media.Bucket
	csp   string

	previews *previewGate

	// CommentMinFill is how soon after a comment form was served it may
	// be sent: people take longer to write. Tests lower it.
	CommentMinFill time.Duration
}

// NewServer builds the blog's HTTP handler. Every request is counted in m,
// which the server never serves itself (see metrics.Metrics.Handler).
func NewServer(cfg config.Config, st Store, log *slog.Logger, assets *Assets, m *metrics.Metrics, opts ...Option) *Server {
	s := &Server{
		cfg: cfg, store: st, log: log, assets: assets, metrics: m,
		previews: newPreviewGate(),

		CommentMinFill: 3 * time.Second,
		csp:            contentSecurityPolicy(cfg.ImgSrc),
	}
	for _, o := range opts {
		o(s)
	}
	s.macs.New = func() any { return hmac.New(sha256.New, cfg.SecretKey) }
	s.pages = cache.New[*page](cfg.CacheBytes, st.Clock)
	st.OnChange(s.pages.Invalidate)
	slot := make([]byte, 12)
	_, _ = rand.Read(slot)
	s.tokenSlot = "token-slot-" + hex.EncodeToString(slot)
	s.handler = s.routes()
	return s
}

// ServeHTTP serves the blog. While draining, every response closes its
// connection: a proxy then holds no idle connection to this instance that
// the shutdown could close under a request it is just sending.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		w.Header().Set("Connection", "close")
	}
	s.handler.ServeHTTP(w, r)
}

// PageCache is the cache of rendered pages, for its counters.
func (s *Server) PageCache() *cache.Cache[*page] { return s.pages }

// Invalidate drops every cached page. Writes through the store do it by
// themselves; call it after a change that readers see and the store does
// not make.
func (s *Server) Invalidate() { s.pages.Invalidate() }

// Drain makes /readyz answer 503 and every response close its connection,
// so that a load balancer or proxy stops sending new traffic and holds no
// idle connection to this instance by the time the server shuts down.
func (s *Server) Drain() { s.draining.Store(true) }

// site is the view model every page shares.
func (s *Server) site() views.Site {
	site := views.Site{
		Title:   s.cfg.Title,
		BaseURL: s.cfg.BaseURL.String(),
		Preview: s.cfg.Preview,
		Icon:    s.assets.URL("favicon.svg"),
		CSS:     []string{s.assets.URL("style.css"), s.assets.URL("chroma.css")},
	}
	if js := s.assets.URL("htmx.min.js"); js != "" {
		site.Scripts = []string{js}
		if ed := s.assets.URL("editor.js"); ed != "" {
			site.Scripts = append(site.Scripts, ed)
		}
		site.HTMXConfig = htmxConfig
	}
	return site
}
