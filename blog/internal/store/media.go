package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// ErrInUse means a picture is in a published post and cannot be deleted.
var ErrInUse = errors.New("used by a published post")

// Media is one uploaded picture. Its files are in the media bucket; Files
// names them widest first, and Width and Height are the widest file's.
type Media struct {
	bun.BaseModel `bun:"table:media"`

	ID        int64     `bun:",pk,autoincrement"`
	AuthorID  int64     `bun:",notnull"`
	Hash      string    `bun:",notnull"`
	Ext       string    `bun:",notnull"`
	Width     int       `bun:",notnull"`
	Height    int       `bun:",notnull"`
	Files     string    `bun:",notnull"` // space-separated
	Bytes     int64     `bun:",notnull"` // of the widest file
	Alt       string    `bun:",notnull"`
	Filename  string    `bun:",notnull"` // as uploaded, to help the author find it
	CreatedAt time.Time `bun:",notnull"`
}

// Name is the widest file's name, the one posts link to.
func (m Media) Name() string { name, _, _ := strings.Cut(m.Files, " "); return name }

// MediaUse is a post that shows a picture, in its body or as its cover.
type MediaUse struct {
	MediaID int64
	PostID  int64
	Title   string
	Status  string
}

// usesMedia is the condition that post shows the picture m: its markdown
// names one of the picture's files, or its cover is the picture.
const usesMedia = "(post.body LIKE '%/media/' || m.hash || '-%' OR post.cover LIKE m.hash || '-%')"

// SaveMedia records an upload. The same picture uploaded again by the same
// author updates its alt text instead of making a second entry.
func (s *Store) SaveMedia(ctx context.Context, m Media) (Media, error) {
	m.CreatedAt = s.now()
	_, err := s.db.NewInsert().Model(&m).
		On("CONFLICT (author_id, hash) DO UPDATE").Set("alt = EXCLUDED.alt").
		Returning("*").Exec(ctx)
	if err != nil {
		return Media{}, fmt.Errorf("save media: %w", err)
	}
	s.announce(ctx) // a picture's alt text shows on the posts that use it
	return m, nil
}

// MediaPage is a page of an owner's pictures, newest first, with how many
// there are and which posts use each (store.AnyOwner: everyone's).
func (s *Store) MediaPage(ctx context.Context, owner int64, limit, offset int) ([]Media, map[int64][]MediaUse, int, error) {
	var items []Media
	q := s.db.NewSelect().Model(&items).Order("id DESC").Limit(int64(limit)).Offset(int64(offset))
	if owner != AnyOwner {
		q = q.Where("author_id = ?", owner)
	}
	total, err := q.ScanAndCount(ctx)
	if err != nil || len(items) == 0 {
		return items, nil, int(total), wrap(err, "media")
	}
	ids := make([]int64, len(items))
	for i, m := range items {
		ids[i] = m.ID
	}
	var uses []MediaUse
	err = s.db.NewSelect().TableExpr("media AS m").
		Join("JOIN posts AS post ON "+usesMedia).
		ColumnExpr("m.id AS media_id, post.id AS post_id, post.title, post.status").
		Where("m.id IN (?)", bun.In(ids)).OrderExpr("post.id DESC").Scan(ctx, &uses)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("media uses: %w", err)
	}
	byMedia := map[int64][]MediaUse{}
	for _, u := range uses {
		byMedia[u.MediaID] = append(byMedia[u.MediaID], u)
	}
	return items, byMedia, int(total), nil
}

// MediaByID is one of owner's pictures (store.AnyOwner: anyone's).
func (s *Store) MediaByID(ctx context.Context, id, owner int64) (Media, error) {
	var m Media
	q := s.db.NewSelect().Model(&m).Where("id = ?", id)
	if owner != AnyOwner {
		q = q.Where("author_id = ?", owner)
	}
	return m, notFound(q.Scan(ctx), fmt.Sprintf("media %d", id))
}

// MediaByName is the picture a file name belongs to (any author's).
func (s *Store) MediaByName(ctx context.Context, name string) (Media, error) {
	hash, _, _ := strings.Cut(name, "-")
	var m Media
	err := s.db.NewSelect().Model(&m).Where("hash = ?", hash).Order("id").Limit(1).Scan(ctx)
	return m, notFound(err, "media "+name)
}

// DeleteMedia removes one of owner's pictures unless a published (or
// scheduled) post shows it: that is ErrInUse. orphaned is true when no
// other entry shares its files, so that the caller deletes them.
func (s *Store) DeleteMedia(ctx context.Context, id, owner int64) (m Media, orphaned bool, err error) {
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		q := tx.NewSelect().Model(&m).Where("id = ?", id)
		if owner != AnyOwner {
			q = q.Where("author_id = ?", owner)
		}
		if err := q.Scan(ctx); err != nil {
			return notFound(err, fmt.Sprintf("media %d", id))
		}
		used, err := tx.NewSelect().TableExpr("media AS m").Join("JOIN posts AS post ON "+usesMedia).
			Where("m.id = ?", id).Where("post.status = ?", StatusPublished).Exists(ctx)
		if err != nil {
			return err
		}
		if used {
			return fmt.Errorf("media %d: %w", id, ErrInUse)
		}
		if _, err := tx.NewDelete().Model((*Media)(nil)).Where("id = ?", id).Exec(ctx); err != nil {
			return err
		}
		shared, err := tx.NewSelect().Model((*Media)(nil)).Where("hash = ?", m.Hash).Exists(ctx)
		orphaned = !shared
		return err
	})
	if err != nil {
		return Media{}, false, fmt.Errorf("delete media: %w", err)
	}
	s.announce(ctx) // feeds name its size
	return m, orphaned, nil
}

func wrap(err error, what string) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}
