package store

import (
	"context"
	"fmt"
	"time"
)

// CreateSession records a signed-in author. id is a hash of the cookie's
// token, never the token itself.
func (s *Store) CreateSession(ctx context.Context, id string, authorID int64, ttl time.Duration) error {
	now := s.now()
	_, err := s.db.NewInsert().Model(&Session{ID: id, AuthorID: authorID, CreatedAt: now, ExpiresAt: now.Add(ttl)}).Exec(ctx)
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// SessionAuthor returns the author of an unexpired session.
func (s *Store) SessionAuthor(ctx context.Context, id string) (Author, error) {
	var a Author
	err := s.db.NewSelect().Model(&a).
		Join("JOIN sessions AS s ON s.author_id = author.id").
		Where("s.id = ?", id).Where("s.expires_at > ?", s.now()).
		Scan(ctx)
	return a, notFound(err, "session")
}

// DeleteSession signs a session out; deleting a missing one is no error.
// It also drops expired sessions, so the table does not grow forever.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	_, err := s.db.NewDelete().Model((*Session)(nil)).
		WhereOr("id = ?", id).WhereOr("expires_at <= ?", s.now()).Exec(ctx)
	if err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}
