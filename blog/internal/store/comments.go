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
