package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/blogstack/blogstack/blog/internal/content"
)

// PostFilter selects a page of posts.
type PostFilter struct {
	TagSlug string // only posts with this tag
	Limit   int
	Offset  int
	// Drafts includes drafts and scheduled posts, for authors.
	Drafts bool
	// AuthorID, when set, keeps only that author's posts: an author's
	// dashboard never shows another author's drafts, not even their titles.
	AuthorID int64
	// State, when set, keeps only posts in that state (implies Drafts for
	// StateDraft and StateScheduled).
	State string
	// WithHTML loads the posts' rendered HTML and markdown too (feeds
	// carry them).
	WithHTML bool
}

// Post states as an author sees them on the dashboard.
const (
	StateDraft     = "draft"
	StateScheduled = "scheduled"
	StatePublished = "published"
)

// PostInput is what an author submits for a post; the store derives the
// rest (rendered HTML, plain text, excerpt, reading time) when it saves.
type PostInput struct {
	AuthorID int64
	Title    string
	Slug     string
	Body     string
	// Cover is the name of the widest file of the post's cover picture, or "".
	Cover  string
	Tags   []string
	Status string
	// PublishedAt is when a published post goes out; nil means now for a
	// new post and the time it already has for an edited one.
	PublishedAt *time.Time
	// Version is the version of the post the edit started from (UpdatePost).
	Version int64
}

// published restricts a query on posts (aliased "post") to what readers see.
func (s *Store) published(q *bun.SelectQuery) *bun.SelectQuery {
	return q.Where("post.status = ?", StatusPublished).Where("post.published_at <= ?", s.now())
}

// Posts returns a page of posts, newest first, and how many there are in
// all. Only published posts whose time has come are included unless
// f.Drafts is set.
func (s *Store) Posts(ctx context.Context, f PostFilter) ([]Post, int, error) {
	q, err := s.filterPosts(s.db.NewSelect().Model((*Post)(nil)), f)
	if err != nil {
		return nil, 0, err
	}
	total, err := q.Count(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("count posts: %w", err)
	}
	posts, err := s.PostList(ctx, f)
	return posts, int(total), err
}

// listColumns are what a list of posts shows. The markdown and plain text
// stay in the database: a list page would otherwise fetch whole posts.
const listColumns = "post.id, post.author_id, post.slug, post.title, post.excerpt, post.reading_minutes, " +
	"post.status, post.published_at, post.created_at, post.updated_at, post.version, post.cover"

// PostList returns a page of posts like Posts, without counting them all,
// in one query. The page's ids are found first (walking the partial index
// posts_published_list_idx in its order), and only those ten posts are
// joined to their author and tags, so a deep page costs an index walk, not
// the tags of every post skipped. Posts carry their HTML and markdown only
// with f.WithHTML (feeds), and never their plain text.
func (s *Store) PostList(ctx context.Context, f PostFilter) ([]Post, error) {
	ids, err := s.filterPosts(s.db.NewSelect().Model((*Post)(nil)).Column("id"), f)
	if err != nil {
		return nil, err
	}
	// Drafts have no publish time: they come first, newest first, on both
	// databases (SQLite would otherwise sort NULL last).
	order := "post.published_at DESC NULLS FIRST, post.id DESC"
	if !f.Drafts && (f.State == "" || f.State == StatePublished) {
		order = "post.published_at DESC, post.id DESC" // the partial index's order, so no sort
	}
	ids = ids.OrderExpr(order).Limit(int64(f.Limit)).Offset(int64(f.Offset))
	columns := listColumns
	if f.WithHTML {
		columns += ", post.html, post.body" // feeds find the first picture in the markdown
	}
	var posts []Post
	err = s.db.NewSelect().Model(&posts).ColumnExpr(columns).
		ColumnExpr(s.dialect.tagsJSON("post.id")+" AS tags").Relation("Author").
		Where("post.id IN (?)", ids).OrderExpr(order).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("posts: %w", err)
	}
	return posts, nil
}

// filterPosts restricts a select of posts to those f names.
func (s *Store) filterPosts(q *bun.SelectQuery, f PostFilter) (*bun.SelectQuery, error) {
	switch f.State {
	case StateDraft:
		q = q.Where("post.status = ?", StatusDraft)
	case StateScheduled:
		q = q.Where("post.status = ?", StatusPublished).Where("post.published_at > ?", s.now())
	case StatePublished:
		q = s.published(q)
	case "":
		if !f.Drafts {
			q = s.published(q)
		}
	default:
		return nil, fmt.Errorf("posts: unknown state %q", f.State)
	}
	if f.AuthorID != 0 {
		q = q.Where("post.author_id = ?", f.AuthorID)
	}
	if f.TagSlug != "" {
		q = q.Where("post.id IN (?)", s.db.NewSelect().Table("post_tags").Column("post_tags.post_id").
			Join("JOIN tags ON tags.id = post_tags.tag_id").Where("tags.slug = ?", f.TagSlug))
	}
	return q, nil
}

// withRelations makes a select of one post (aliased "post") load its
// author (a join) and tags (a JSON array from a correlated subquery) in the
// same query, instead of one more query per relation.
func (s *Store) withRelations(q *bun.SelectQuery) *bun.SelectQuery {
	return q.ColumnExpr("?TableColumns").ColumnExpr(s.dialect.tagsJSON("post.id") + " AS tags").Relation("Author")
}

// PostBySlug returns a published post with its author and tags.
func (s *Store) PostBySlug(ctx context.Context, slug string) (Post, error) {
	var p Post
	err := s.published(s.withRelations(s.db.NewSelect().Model(&p))).
		Where("post.slug = ?", slug).Scan(ctx)
	return p, notFound(err, "post "+slug)
}

// PostByID returns any post, whatever its status, for its authors.
func (s *Store) PostByID(ctx context.Context, id int64) (Post, error) {
	var p Post
	err := s.withRelations(s.db.NewSelect().Model(&p)).
		Where("post.id = ?", id).Scan(ctx)
	return p, notFound(err, fmt.Sprintf("post %d", id))
}

// SitemapEntry is one published post's URL data.
type SitemapEntry struct {
	Slug      string
	UpdatedAt time.Time
}

// Sitemap lists every published post, newest first.
func (s *Store) Sitemap(ctx context.Context) ([]SitemapEntry, error) {
	var entries []SitemapEntry
	err := s.published(s.db.NewSelect().TableExpr("posts AS post").Column("post.slug", "post.updated_at")).
		Order("post.published_at DESC").Scan(ctx, &entries)
	if err != nil {
		return nil, fmt.Errorf("sitemap: %w", err)
	}
	return entries, nil
}

// CreatePost saves a new post with its tags. A slug already in use is an
// ErrConflict, also when another writer takes it at the same moment.
func (s *Store) CreatePost(ctx context.Context, in PostInput) (Post, error) {
	p, err := s.newPost(in)
	if err != nil {
		return Post{}, err
	}
	if p.Status == StatusPublished && p.PublishedAt == nil {
		p.PublishedAt = &p.CreatedAt
	}
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := slugFree(ctx, tx, p.Slug, 0); err != nil {
			return err
		}
		if _, err := tx.NewInsert().Model(&p).Returning("id").Exec(ctx); err != nil {
			return err
		}
		// The slug now names a live post, not an old one's redirect.
		if _, err := tx.NewDelete().Model((*PostRedirect)(nil)).Where("old_slug = ?", p.Slug).Exec(ctx); err != nil {
			return err
		}
		p.Tags, err = setTags(ctx, tx, p.ID, in.Tags)
		return err
	})
	if err != nil {
		return Post{}, fmt.Errorf("create post: %w", uniqueViolation(err))
	}
	s.announce(ctx)
	return p, nil
}

// StaleError is an edit refused because the post was saved by someone
// else since the edit's form was made; Current is the post as saved now.
type StaleError struct{ Current Post }

func (e *StaleError) Error() string {
	return fmt.Sprintf("post %d is at version %d: %v", e.Current.ID, e.Current.Version, ErrStale)
}

// Is makes errors.Is(err, ErrStale) true.
func (e *StaleError) Is(target error) bool { return target == ErrStale }

// UpdatePost saves new content for an existing post; its author and
// creation time stay. in.Version must be the version the edit started
// from, or the save is a *StaleError and nothing changes. A published post
// keeps its publish time unless in.PublishedAt names another minute, and a
// published post whose slug changes keeps its old URL as a redirect.
func (s *Store) UpdatePost(ctx context.Context, id int64, in PostInput) (Post, error) {
	p, err := s.newPost(in)
	if err != nil {
		return Post{}, err
	}
	p.ID = id
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var cur Post
		if err := s.withRelations(tx.NewSelect().Model(&cur)).
			Where("post.id = ?", id).Scan(ctx); err != nil {
			return notFound(err, fmt.Sprintf("post %d", id))
		}
		if cur.Version != in.Version {
			return &StaleError{Current: cur}
		}
		p.PublishedAt = keptPublishTime(cur.PublishedAt, p.PublishedAt)
		if p.Status == StatusPublished && p.PublishedAt == nil {
			p.PublishedAt = &p.UpdatedAt
		}
		if err := slugFree(ctx, tx, p.Slug, id); err != nil {
			return err
		}
		res, err := tx.NewUpdate().Model(&p).
			Column("title", "slug", "body", "cover", "html", "text", "excerpt", "reading_minutes", "status", "published_at", "updated_at").
			Set("version = version + 1").
			WherePK().Where("version = ?", in.Version).Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 { // saved by another writer between the read and now
			return &StaleError{Current: cur}
		}
		if cur.Slug != p.Slug && cur.Status == StatusPublished {
			if _, err := tx.NewInsert().Model(&PostRedirect{OldSlug: cur.Slug, PostID: id, CreatedAt: p.UpdatedAt}).
				On("CONFLICT (old_slug) DO UPDATE").Set("post_id = EXCLUDED.post_id").Exec(ctx); err != nil {
				return err
			}
		}
		if _, err := tx.NewDelete().Model((*PostRedirect)(nil)).Where("old_slug = ?", p.Slug).Exec(ctx); err != nil {
			return err
		}
		p.Tags, err = setTags(ctx, tx, id, in.Tags)
		return err
	})
	if err != nil {
		return Post{}, fmt.Errorf("update post: %w", uniqueViolation(err))
	}
	s.announce(ctx)
	return s.PostByID(ctx, id)
}

// keptPublishTime is the publish time an edit saves: the current one when
// the edit names none or names the same minute (the editor shows minutes),
// so that re-saving a post never moves its date.
func keptPublishTime(current, edited *time.Time) *time.Time {
	if current == nil {
		return edited
	}
	if edited == nil || edited.Equal(current.UTC().Truncate(time.Minute)) {
		return current
	}
	return edited
}

// RedirectSlug is the current slug of the published post that used to be
// at oldSlug, or ErrNotFound.
func (s *Store) RedirectSlug(ctx context.Context, oldSlug string) (string, error) {
	var slug string
	err := s.published(s.db.NewSelect().TableExpr("post_redirects AS r").ColumnExpr("post.slug").
		Join("JOIN posts AS post ON post.id = r.post_id")).
		Where("r.old_slug = ?", oldSlug).Scan(ctx, &slug)
	return slug, notFound(err, "redirect "+oldSlug)
}

// newPost is what a post's row becomes from an author's input: the
// markdown rendered to its stored forms, the times set.
func (s *Store) newPost(in PostInput) (Post, error) {
	r, err := content.Render(in.Body)
	if err != nil {
		return Post{}, err
	}
	now := s.now()
	return Post{
		AuthorID: in.AuthorID, Title: in.Title, Slug: in.Slug, Body: in.Body, Cover: in.Cover,
		HTML: r.HTML, Text: r.Text, Excerpt: r.Excerpt, ReadingMinutes: r.ReadingMinutes,
		Status: in.Status, PublishedAt: truncate(in.PublishedAt), CreatedAt: now, UpdatedAt: now, Version: 1,
	}, nil
}

// slugFree is an ErrConflict when a post other than exceptID has slug.
func slugFree(ctx context.Context, tx bun.Tx, slug string, exceptID int64) error {
	taken, err := tx.NewSelect().Model((*Post)(nil)).Where("slug = ?", slug).Where("id <> ?", exceptID).Exists(ctx)
	if err != nil {
		return err
	}
	if taken {
		return fmt.Errorf("slug %q: %w", slug, ErrConflict)
	}
	return nil
}

// DeletePost removes a post with its comments and tag links.
func (s *Store) DeletePost(ctx context.Context, id int64) error {
	res, err := s.db.NewDelete().Model((*Post)(nil)).Where("id = ?", id).Exec(ctx)
	return s.announced(ctx, changed(res, err, fmt.Sprintf("delete post %d", id)))
}

// setTags replaces a post's tags, creating tags that do not exist yet.
func setTags(ctx context.Context, tx bun.Tx, postID int64, names []string) ([]Tag, error) {
	if _, err := tx.NewDelete().Model((*PostTag)(nil)).Where("post_id = ?", postID).Exec(ctx); err != nil {
		return nil, err
	}
	var tags []Tag
	seen := map[string]bool{}
	for _, name := range names {
		name = strings.TrimSpace(name)
		slug := TagSlug(name)
		if slug == "" || seen[slug] {
			continue
		}
		seen[slug] = true
		// Two posts may bring the same new tag at once: the second insert
		// does nothing (on PostgreSQL after the first commits), and both
		// then read the one row.
		t := Tag{Name: name, Slug: slug}
		if _, err := tx.NewInsert().Model(&t).On("CONFLICT (slug) DO NOTHING").Exec(ctx); err != nil {
			return nil, err
		}
		if err := tx.NewSelect().Model(&t).Where("slug = ?", slug).Scan(ctx); err != nil {
			return nil, err
		}
		if _, err := tx.NewInsert().Model(&PostTag{PostID: postID, TagID: t.ID}).Exec(ctx); err != nil {
			return nil, err
		}
		tags = append(tags, t)
	}
	return tags, nil
}

func truncate(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC().Truncate(time.Second)
	return &u
}
