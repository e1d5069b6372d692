package store

import (
	"time"

	"github.com/uptrace/bun"
)

// Roles an author can have.
const (
	RoleAdmin  = "admin"
	RoleAuthor = "author"
)

// Post statuses. A published post whose PublishedAt is in the future is
// scheduled: invisible to readers until then.
const (
	StatusDraft     = "draft"
	StatusPublished = "published"
)

// Comment statuses: new comments wait for moderation.
const (
	CommentPending  = "pending"
	CommentApproved = "approved"
)

// Author writes posts and, as an admin, manages other authors.
type Author struct {
	bun.BaseModel `bun:"table:authors"`

	ID           int64     `bun:",pk,autoincrement"`
	Email        string    `bun:",notnull"`
	Name         string    `bun:",notnull"`
	PasswordHash string    `bun:",notnull"`
	Role         string    `bun:",notnull"`
	CreatedAt    time.Time `bun:",notnull"`
	// DisabledAt is set while an admin has disabled the author.
	DisabledAt *time.Time `bun:",nullzero"`
}

// Post is one article. HTML, Text, Excerpt and ReadingMinutes are derived
// from Body when the post is saved.
type Post struct {
	bun.BaseModel `bun:"table:posts"`

	ID       int64   `bun:",pk,autoincrement"`
	AuthorID int64   `bun:",notnull"`
	Author   *Author `bun:"rel:belongs-to,join:author_id=id"`
	Slug     string  `bun:",notnull"`
	Title    string  `bun:",notnull"`
	Body     string  `bun:",notnull"`
	// Cover is the name of the widest file of the cover picture, or "".
	Cover          string     `bun:",notnull"`
	HTML           string     `bun:"html,notnull"`
	Text           string     `bun:",notnull"`
	Excerpt        string     `bun:",notnull"`
	ReadingMinutes int        `bun:",notnull"`
	Status         string     `bun:",notnull"`
	PublishedAt    *time.Time `bun:",nullzero"`
	CreatedAt      time.Time  `bun:",notnull"`
	UpdatedAt      time.Time  `bun:",notnull"`
	// Version counts saves; an edit names the version it started from.
	Version int64 `bun:",notnull"`
	// Tags are loaded with the post in one query (Store.withRelations).
	Tags TagList `bun:"tags,scanonly"`
}

// PostRedirect keeps an old slug of a published post working.
type PostRedirect struct {
	bun.BaseModel `bun:"table:post_redirects"`

	OldSlug   string    `bun:",pk"`
	PostID    int64     `bun:",notnull"`
	CreatedAt time.Time `bun:",notnull"`
}

// Tag groups posts; Slug is its URL segment.
type Tag struct {
	bun.BaseModel `bun:"table:tags"`

	ID   int64  `bun:",pk,autoincrement"`
	Name string `bun:",notnull"`
	Slug string `bun:",notnull"`
}

// PostTag joins posts and tags.
type PostTag struct {
	bun.BaseModel `bun:"table:post_tags"`

	PostID int64 `bun:",pk"`
	Post   *Post `bun:"rel:belongs-to,join:post_id=id"`
	TagID  int64 `bun:",pk"`
	Tag    *Tag  `bun:"rel:belongs-to,join:tag_id=id"`
}

// Comment is a reader's comment on a post, shown once approved.
type Comment struct {
	bun.BaseModel `bun:"table:comments"`

	ID        int64     `bun:",pk,autoincrement"`
	PostID    int64     `bun:",notnull"`
	Name      string    `bun:",notnull"`
	Website   string    `bun:",notnull"`
	Body      string    `bun:",notnull"`
	Status    string    `bun:",notnull"`
	CreatedAt time.Time `bun:",notnull"`
}

// Session is a signed-in author; ID is a hash of the cookie's token, so a
// leaked database does not leak live sessions.
type Session struct {
	bun.BaseModel `bun:"table:sessions"`

	ID         string     `bun:",pk"`
	AuthorID   int64      `bun:",notnull"`
	CreatedAt  time.Time  `bun:",notnull"`
	ExpiresAt  time.Time  `bun:",notnull"`
	LastSeenAt *time.Time `bun:",nullzero"`
	IP         string     `bun:"ip,notnull"`
	UserAgent  string     `bun:",notnull"`
}
