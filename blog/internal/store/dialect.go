package store

import (
	"context"
	"embed"
	"io/fs"
	"time"

	"github.com/uptrace/bun"
)

//go:embed migrations
var migrationFiles embed.FS

// dialect is everything that differs between PostgreSQL and SQLite.
type dialect interface {
	name() string
	// migrations holds the dialect's SQL migrations; both folders carry the
	// same migration names so either database reaches the same schema.
	migrations() fs.FS
	// lock serialises migrators across processes; release never fails the
	// caller, and a crashed holder never leaves the lock behind.
	lock(ctx context.Context, db *bun.DB) (release func(), err error)
	// search returns one page of published posts matching the reader's
	// query, best match first, with highlighted snippets.
	search(ctx context.Context, db *bun.DB, q string, now time.Time, limit, offset int) ([]SearchResult, int, error)
	// tagsJSON is an SQL expression: the tags of the post whose id is the
	// column postID, as a JSON array of {id, name, slug} ordered by name.
	tagsJSON(postID string) string
}

func subFS(dir string) fs.FS {
	sub, err := fs.Sub(migrationFiles, "migrations/"+dir)
	if err != nil {
		panic(err) // the folder is embedded at build time
	}
	return sub
}

// SearchResult is one post found by a search. Snippet is plain text with the
// matched words between markStart and markEnd.
type SearchResult struct {
	ID          int64
	Slug        string
	Title       string
	Excerpt     string
	PublishedAt time.Time
	Snippet     string
}

// Highlight markers around matched words in SearchResult.Snippet: Unicode
// private-use characters, which never occur in a post's plain text, so the
// view can escape the snippet and then turn them into <mark>.
const (
	MarkStart = "\uE000"
	MarkEnd   = "\uE001"
)
