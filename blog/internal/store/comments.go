package store

import (
	"context"
	"fmt"
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

// PendingComments lists comments waiting for moderation, oldest first.
func (s *Store) PendingComments(ctx context.Context) ([]PendingComment, error) {
	var cs []PendingComment
	err := s.db.NewSelect().TableExpr("comments AS c").
		ColumnExpr("c.id, c.post_id, c.name, c.website, c.body, c.status, c.created_at").
		ColumnExpr("p.title AS post_title, p.slug AS post_slug").
		Join("JOIN posts AS p ON p.id = c.post_id").
		Where("c.status = ?", CommentPending).
		OrderExpr("c.created_at, c.id").Scan(ctx, &cs)
	if err != nil {
		return nil, fmt.Errorf("pending comments: %w", err)
	}
	return cs, nil
}

// ApproveComment shows a comment on its post.
func (s *Store) ApproveComment(ctx context.Context, id int64) error {
	res, err := s.db.NewUpdate().Model((*Comment)(nil)).Set("status = ?", CommentApproved).Where("id = ?", id).Exec(ctx)
	return changed(res, err, fmt.Sprintf("approve comment %d", id))
}

// DeleteComment removes a comment, pending or approved.
func (s *Store) DeleteComment(ctx context.Context, id int64) error {
	res, err := s.db.NewDelete().Model((*Comment)(nil)).Where("id = ?", id).Exec(ctx)
	return changed(res, err, fmt.Sprintf("delete comment %d", id))
}
