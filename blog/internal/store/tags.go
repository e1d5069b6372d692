package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
)

// TagSlug is the URL segment of a tag name: lower-case letters, digits and
// hyphens.
func TagSlug(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(strings.TrimSpace(name)) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
		default:
			dash = true
		}
	}
	return b.String()
}

// TagBySlug returns a tag that readers can see: one carried by at least one
// published post. A tag used only by drafts or scheduled posts is
// ErrNotFound, so its name does not leak before the posts are out.
func (s *Store) TagBySlug(ctx context.Context, slug string) (Tag, error) {
	var t Tag
	err := s.db.NewSelect().Model(&t).Where("tag.slug = ?", slug).
		Where("EXISTS (?)", s.published(s.db.NewSelect().TableExpr("post_tags AS pt").ColumnExpr("1").
			Join("JOIN posts AS post ON post.id = pt.post_id").Where("pt.tag_id = tag.id"))).
		Scan(ctx)
	return t, notFound(err, "tag "+slug)
}

// TagCount is a tag and how many published posts carry it.
type TagCount struct {
	Tag
	Posts int
}

// Tags lists tags that have published posts, most used first.
func (s *Store) Tags(ctx context.Context) ([]TagCount, error) {
	var tags []TagCount
	err := s.db.NewSelect().TableExpr("tags AS tag").
		ColumnExpr("tag.id, tag.name, tag.slug, count(*) AS posts").
		Join("JOIN post_tags AS pt ON pt.tag_id = tag.id").
		Join("JOIN posts AS post ON post.id = pt.post_id").
		Where("post.status = ?", StatusPublished).Where("post.published_at <= ?", s.now()).
		GroupExpr("tag.id, tag.name, tag.slug").
		OrderExpr("posts DESC, tag.name").
		Scan(ctx, &tags)
	if err != nil {
		return nil, fmt.Errorf("tags: %w", err)
	}
	return tags, nil
}

// TagList is a post's tags. It scans from the JSON array that
// Store.withRelations selects, so a list of posts and their tags is one
// query.
type TagList []Tag

// Scan reads the JSON array of {id, name, slug} objects.
func (l *TagList) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case nil:
		*l = nil
		return nil
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		return fmt.Errorf("tags: cannot scan %T", src)
	}
	// encoding/json matches the keys to ID, Name and Slug.
	var tags []Tag
	if err := json.Unmarshal(b, &tags); err != nil {
		return fmt.Errorf("tags: %w", err)
	}
	if len(tags) == 0 {
		tags = nil
	}
	*l = tags
	return nil
}
