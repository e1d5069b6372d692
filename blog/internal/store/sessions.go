package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// seenEvery is how stale a session's last_seen_at may get before a request
// writes it again: the idle timeout is far longer, and most requests then
// only read.
const seenEvery = time.Minute

// CreateSession records a signed-in author. s.ID is a hash of the cookie's
// token, never the token itself; ttl is the absolute lifetime.
func (s *Store) CreateSession(ctx context.Context, sess Session, ttl time.Duration) error {
	now := s.now()
	sess.CreatedAt, sess.ExpiresAt, sess.LastSeenAt = now, now.Add(ttl), &now
	if _, err := s.db.NewInsert().Model(&sess).Exec(ctx); err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// live restricts a query on sessions (aliased "s") to those neither past
// their absolute expiry nor idle for longer than idle.
func (s *Store) live(q *bun.SelectQuery, idle time.Duration) *bun.SelectQuery {
	now := s.now()
	return q.Where("s.expires_at > ?", now).Where("COALESCE(s.last_seen_at, s.created_at) > ?", now.Add(-idle))
}

// SessionAuthor returns the author of a live session, and marks the
// session used. A disabled author has no live session.
func (s *Store) SessionAuthor(ctx context.Context, id string, idle time.Duration) (Author, error) {
	var a Author
	err := s.live(s.db.NewSelect().Model(&a).
		Join("JOIN sessions AS s ON s.author_id = author.id"), idle).
		Where("s.id = ?", id).Where("author.disabled_at IS NULL").
		Scan(ctx)
	if err != nil {
		return a, notFound(err, "session")
	}
	now := s.now()
	_, err = s.db.NewUpdate().Model((*Session)(nil)).Set("last_seen_at = ?", now).
		Where("id = ?", id).Where("last_seen_at IS NULL OR last_seen_at < ?", now.Add(-seenEvery)).Exec(ctx)
	if err != nil {
		return Author{}, fmt.Errorf("mark session used: %w", err)
	}
	return a, nil
}

// Sessions lists an author's live sessions, most recently used first.
func (s *Store) Sessions(ctx context.Context, authorID int64, idle time.Duration) ([]Session, error) {
	var ss []Session
	err := s.live(s.db.NewSelect().TableExpr("sessions AS s").ColumnExpr("s.*"), idle).
		Where("s.author_id = ?", authorID).
		OrderExpr("COALESCE(s.last_seen_at, s.created_at) DESC").Scan(ctx, &ss)
	if err != nil {
		return nil, fmt.Errorf("sessions: %w", err)
	}
	return ss, nil
}

// DeleteSession signs a session out; deleting a missing one is no error.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	if _, err := s.db.NewDelete().Model((*Session)(nil)).Where("id = ?", id).Exec(ctx); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteAuthorSession ends one of authorID's sessions; another author's
// is ErrNotFound.
func (s *Store) DeleteAuthorSession(ctx context.Context, authorID int64, id string) error {
	res, err := s.db.NewDelete().Model((*Session)(nil)).Where("id = ?", id).Where("author_id = ?", authorID).Exec(ctx)
	return changed(res, err, "delete session")
}

// DeleteSessions ends every session of authorID except keep (empty: all).
func (s *Store) DeleteSessions(ctx context.Context, authorID int64, keep string) error {
	return deleteSessions(ctx, s.db, authorID, keep)
}

func deleteSessions(ctx context.Context, db bun.IDB, authorID int64, keep string) error {
	q := db.NewDelete().Model((*Session)(nil)).Where("author_id = ?", authorID)
	if keep != "" {
		q = q.Where("id <> ?", keep)
	}
	if _, err := q.Exec(ctx); err != nil {
		return fmt.Errorf("delete sessions: %w", err)
	}
	return nil
}

// DeleteExpiredSessions removes the sessions past their absolute expiry or
// idle timeout; the server runs it periodically. It returns how many went.
func (s *Store) DeleteExpiredSessions(ctx context.Context, idle time.Duration) (int, error) {
	now := s.now()
	res, err := s.db.NewDelete().Model((*Session)(nil)).
		Where("expires_at <= ? OR COALESCE(last_seen_at, created_at) <= ?", now, now.Add(-idle)).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
