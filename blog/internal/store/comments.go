package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// ApprovedComments returns a post's approved comments, oldest first.
func (s *Store) ApprovedComments(ctx context.Context, postID int64) ([]Comment, error) {
	var cs []Comment
	err := s.db.NewSelect().Model(&cs).
		Where("post_id = ?", postID).Where("status = ?", CommentApproved).
		Order("created_at", "id").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("comments: %w", err)
	}
	return cs, nil
}

// CreateComment saves a comment; new comments are pending unless c.Status
// says otherwise (the seeder approves some).
func (s *Store) CreateComment(ctx context.Context, c Comment) (Comment, error) {
	if c.Status == "" {
		c.Status = CommentPending
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = s.now()
	}
	if _, err := s.db.NewInsert().Model(&c).Returning("id").Exec(ctx); err != nil {
		return Comment{}, fmt.Errorf("create comment: %w", err)
	}
	return c, nil
}

// PendingComment is a comment waiting for moderation, with its post.
type PendingComment struct {
	Comment
	PostTitle string
	PostSlug  string
}

// AnyOwner is the owner argument of an admin, who moderates every post's
// comments. Any other value is an author ID: that author moderates only the
// comments on their own posts.
const AnyOwner int64 = 0

// ownedBy restricts a query on the comments table to comments on posts of
// owner, unless owner is AnyOwner.
func ownedBy(owner int64) func(bun.QueryBuilder) bun.QueryBuilder {
	return func(q bun.QueryBuilder) bun.QueryBuilder {
		if owner == AnyOwner {
			return q
		}
		return q.Where("post_id IN (SELECT id FROM posts WHERE author_id = ?)", owner)
	}
}

// PendingComments returns one page of the comments waiting for moderation
// on owner's posts, oldest first, and how many wait in all.
func (s *Store) PendingComments(ctx context.Context, owner int64, limit, offset int) ([]PendingComment, int, error) {
	var cs []PendingComment
	q := s.db.NewSelect().TableExpr("comments AS c").
		ColumnExpr("c.id, c.post_id, c.name, c.website, c.body, c.status, c.created_at").
		ColumnExpr("p.title AS post_title, p.slug AS post_slug").
		Join("JOIN posts AS p ON p.id = c.post_id").
		Where("c.status = ?", CommentPending)
	if owner != AnyOwner {
		q = q.Where("p.author_id = ?", owner)
	}
	total, err := q.OrderExpr("c.created_at, c.id").Limit(int64(limit)).Offset(int64(offset)).ScanAndCount(ctx, &cs)
	if err != nil {
		return nil, 0, fmt.Errorf("pending comments: %w", err)
	}
	return cs, int(total), nil
}

// PendingCommentCount is how many comments on owner's posts wait for
// moderation, counted by the database.
func (s *Store) PendingCommentCount(ctx context.Context, owner int64) (int, error) {
	n, err := s.db.NewSelect().Model((*Comment)(nil)).Where("status = ?", CommentPending).
		ApplyQueryBuilder(ownedBy(owner)).Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("count pending comments: %w", err)
	}
	return int(n), nil
}

// ApproveComment shows a comment on its post. A comment that is not on one
// of owner's posts is ErrNotFound, as if it did not exist.
func (s *Store) ApproveComment(ctx context.Context, id, owner int64) error {
	res, err := s.db.NewUpdate().Model((*Comment)(nil)).Set("status = ?", CommentApproved).
		Where("id = ?", id).ApplyQueryBuilder(ownedBy(owner)).Exec(ctx)
	return s.announced(ctx, changed(res, err, fmt.Sprintf("approve comment %d", id)))
}

// DeleteComment removes a comment, pending or approved. A comment that is
// not on one of owner's posts is ErrNotFound.
func (s *Store) DeleteComment(ctx context.Context, id, owner int64) error {
	res, err := s.db.NewDelete().Model((*Comment)(nil)).
		Where("id = ?", id).ApplyQueryBuilder(ownedBy(owner)).Exec(ctx)
	return s.announced(ctx, changed(res, err, fmt.Sprintf("delete comment %d", id)))
}

// UseCommentNonce records that the comment form with nonce has been sent;
// a nonce already used is ErrConflict. The record lasts until expires.
func (s *Store) UseCommentNonce(ctx context.Context, nonce string, expires time.Time) error {
	_, err := s.db.NewInsert().Model(&commentNonce{Nonce: nonce, ExpiresAt: expires.UTC()}).Exec(ctx)
	if err != nil {
		return fmt.Errorf("use comment nonce: %w", uniqueViolation(err))
	}
	return nil
}

// DeleteExpiredNonces forgets the nonces of forms that have expired.
func (s *Store) DeleteExpiredNonces(ctx context.Context) (int, error) {
	res, err := s.db.NewDelete().Model((*commentNonce)(nil)).Where("expires_at <= ?", s.now()).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("delete expired nonces: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

type commentNonce struct {
	bun.BaseModel `bun:"table:comment_nonces"`

	Nonce     string    `bun:",pk"`
	ExpiresAt time.Time `bun:",notnull"`
}
