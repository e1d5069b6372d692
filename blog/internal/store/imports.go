package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/blogstack/blogstack/blog/internal/content"
)

// Redirect keeps an old address of an imported post working: a GET of
// OldPath answers a 301 to the post's URL.
type Redirect struct {
	bun.BaseModel `bun:"table:redirects"`

	OldPath   string    `bun:",pk"`
	PostID    int64     `bun:",notnull"`
	CreatedAt time.Time `bun:",notnull"`
}

// importedRecord remembers which local row a source's record became.
type importedRecord struct {
	bun.BaseModel `bun:"table:imported_records"`

	Source   string `bun:",pk"`
	Kind     string `bun:",pk"`
	SourceID string `bun:",pk"`
	LocalID  int64  `bun:",notnull"`
}

// Kinds of imported records.
const (
	ImportedAuthor  = "author"
	ImportedPost    = "post"
	ImportedComment = "comment"
)

// errRollback ends a dry run's transaction after all its work is done.
var errRollback = errors.New("dry run: rolled back")

// Import runs fn in one transaction for the import from source (for
// example "django"): everything fn writes is committed together, or
// nothing when fn fails. With dryRun the transaction does all the same
// work and is then rolled back, so that a dry run reports exactly what a
// real one would do.
func (s *Store) Import(ctx context.Context, source string, dryRun bool, fn func(ctx context.Context, tx *ImportTx) error) error {
	err := s.db.RunInTx(ctx, &sql.TxOptions{}, func(ctx context.Context, tx bun.Tx) error {
		if err := fn(ctx, &ImportTx{tx: tx, s: s, source: source}); err != nil {
			return err
		}
		if dryRun {
			return errRollback
		}
		return nil
	})
	if errors.Is(err, errRollback) {
		return nil
	}
	if err != nil {
		return err
	}
	s.announce(ctx)
	// A bulk load: fresh statistics keep the planner on the indexes.
	return s.Analyze(ctx)
}

// ImportTx is one import's transaction.
type ImportTx struct {
	tx     bun.Tx
	s      *Store
	source string
}

// Imported is the local id of a record this source imported before.
func (t *ImportTx) Imported(ctx context.Context, kind, sourceID string) (int64, bool, error) {
	var r importedRecord
	err := t.tx.NewSelect().Model(&r).
		Where("source = ?", t.source).Where("kind = ?", kind).Where("source_id = ?", sourceID).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("imported %s %s: %w", kind, sourceID, err)
	}
	return r.LocalID, true, nil
}

func (t *ImportTx) record(ctx context.Context, kind, sourceID string, localID int64) error {
	_, err := t.tx.NewInsert().Model(&importedRecord{Source: t.source, Kind: kind, SourceID: sourceID, LocalID: localID}).Exec(ctx)
	return err
}

// ImportAuthor returns the local author for a source's author: the one an
// earlier run made, else an existing author with the same email, else a
// new author, disabled and without a password until an admin enables
// them. created says whether a row was inserted; mapped whether an
// existing author was taken by email.
func (t *ImportTx) ImportAuthor(ctx context.Context, sourceID, email, name string) (a Author, created, mapped bool, err error) {
	if id, ok, err := t.Imported(ctx, ImportedAuthor, sourceID); err != nil || ok {
		if err != nil {
			return Author{}, false, false, err
		}
		err = t.tx.NewSelect().Model(&a).Where("id = ?", id).Scan(ctx)
		return a, false, false, notFound(err, fmt.Sprintf("author %d", id))
	}
	email = strings.ToLower(strings.TrimSpace(email))
	if strings.TrimSpace(name) == "" {
		name, _, _ = strings.Cut(email, "@")
	}
	err = t.tx.NewSelect().Model(&a).Where("lower(email) = ?", email).Scan(ctx)
	switch {
	case err == nil:
		mapped = true
	case errors.Is(err, sql.ErrNoRows):
		now := t.s.now()
		// An empty hash matches no password (bcrypt refuses it), and the
		// author is disabled besides: an admin enables them and sets one.
		a = Author{Email: email, Name: name, Role: RoleAuthor, CreatedAt: now, DisabledAt: &now}
		if _, err := t.tx.NewInsert().Model(&a).Returning("id").Exec(ctx); err != nil {
			return Author{}, false, false, fmt.Errorf("create author %s: %w", email, uniqueViolation(err))
		}
		created = true
	default:
		return Author{}, false, false, fmt.Errorf("author %s: %w", email, err)
	}
	if err := t.record(ctx, ImportedAuthor, sourceID, a.ID); err != nil {
		return Author{}, false, false, fmt.Errorf("record author %s: %w", sourceID, err)
	}
	return a, created, mapped, nil
}

// ImportedPostInput is a post as another blog had it.
type ImportedPostInput struct {
	AuthorID    int64
	Title       string
	Slug        string // wanted; made unique when taken
	Body        string // markdown
	Tags        []string
	Status      string
	PublishedAt *time.Time
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// ImportPost saves a post from another blog with its own dates, rendered
// through the same pipeline as an author's post, under its wanted slug or,
// when that is taken, the first free one of slug-2, slug-3...
// A post this source imported before is returned as it is, created false.
func (t *ImportTx) ImportPost(ctx context.Context, sourceID string, in ImportedPostInput) (p Post, created bool, err error) {
	if id, ok, err := t.Imported(ctx, ImportedPost, sourceID); err != nil || ok {
		if err != nil {
			return Post{}, false, err
		}
		err = t.tx.NewSelect().Model(&p).Where("id = ?", id).Scan(ctx)
		return p, false, notFound(err, fmt.Sprintf("post %d", id))
	}
	r, err := content.Render(in.Body)
	if err != nil {
		return Post{}, false, err
	}
	slug, err := t.freeSlug(ctx, in.Slug)
	if err != nil {
		return Post{}, false, err
	}
	p = Post{
		AuthorID: in.AuthorID, Title: in.Title, Slug: slug, Body: in.Body,
		HTML: r.HTML, Text: r.Text, Excerpt: r.Excerpt, ReadingMinutes: r.ReadingMinutes,
		Status: in.Status, PublishedAt: truncate(in.PublishedAt),
		CreatedAt: in.CreatedAt.UTC().Truncate(time.Second), UpdatedAt: in.UpdatedAt.UTC().Truncate(time.Second), Version: 1,
	}
	if _, err := t.tx.NewInsert().Model(&p).Returning("id").Exec(ctx); err != nil {
		return Post{}, false, uniqueViolation(err)
	}
	// The slug now names a live post, not an old one's redirect.
	if _, err := t.tx.NewDelete().Model((*PostRedirect)(nil)).Where("old_slug = ?", p.Slug).Exec(ctx); err != nil {
		return Post{}, false, err
	}
	if p.Tags, err = setTags(ctx, t.tx, p.ID, in.Tags); err != nil {
		return Post{}, false, err
	}
	if err := t.record(ctx, ImportedPost, sourceID, p.ID); err != nil {
		return Post{}, false, err
	}
	return p, true, nil
}

// freeSlug is want when no post has it, else want-2, want-3...
func (t *ImportTx) freeSlug(ctx context.Context, want string) (string, error) {
	for i := 1; ; i++ {
		slug := want
		if i > 1 {
			slug = fmt.Sprintf("%s-%d", want, i)
		}
		taken, err := t.tx.NewSelect().Model((*Post)(nil)).Where("slug = ?", slug).Exists(ctx)
		if err != nil {
			return "", err
		}
		if !taken {
			return slug, nil
		}
	}
}

// ImportComment saves a comment from another blog with its own time and
// status; one this source imported before is left alone (false).
func (t *ImportTx) ImportComment(ctx context.Context, sourceID string, c Comment) (bool, error) {
	if _, ok, err := t.Imported(ctx, ImportedComment, sourceID); err != nil || ok {
		return false, err
	}
	c.CreatedAt = c.CreatedAt.UTC().Truncate(time.Second)
	if _, err := t.tx.NewInsert().Model(&c).Returning("id").Exec(ctx); err != nil {
		return false, err
	}
	return true, t.record(ctx, ImportedComment, sourceID, c.ID)
}

// AddRedirect records oldPath as an old address of postID. It returns
// false when the path is already recorded, and the post it leads to.
func (t *ImportTx) AddRedirect(ctx context.Context, oldPath string, postID int64) (bool, int64, error) {
	oldPath = RedirectKey(oldPath)
	var cur Redirect
	err := t.tx.NewSelect().Model(&cur).Where("old_path = ?", oldPath).Scan(ctx)
	if err == nil {
		return false, cur.PostID, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return false, 0, err
	}
	if _, err := t.tx.NewInsert().Model(&Redirect{OldPath: oldPath, PostID: postID, CreatedAt: t.s.now()}).Exec(ctx); err != nil {
		return false, 0, err
	}
	return true, postID, nil
}

// RedirectPath is the current slug of the published post whose old
// address is path, or ErrNotFound (also while the post is a draft or
// scheduled, so an old link never reveals it early).
func (s *Store) RedirectPath(ctx context.Context, path string) (string, error) {
	var slug string
	err := s.published(s.db.NewSelect().TableExpr("redirects AS r").ColumnExpr("post.slug").
		Join("JOIN posts AS post ON post.id = r.post_id")).
		Where("r.old_path = ?", RedirectKey(path)).Scan(ctx, &slug)
	return slug, notFound(err, "redirect "+path)
}

// RedirectKey is how an old path is stored and looked up: decoded, with
// one leading slash and no trailing one, so that /2019/05/hello/ and
// /2019/05/hello find the same post, as they did on most old blogs.
func RedirectKey(p string) string {
	p = "/" + strings.Trim(p, "/")
	return p
}
