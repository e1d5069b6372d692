package store

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/uptrace/bun"
)

// Attempts is what a rate limit has counted for one key (a client, an
// account) in the key's current window, which starts at its first attempt
// and ends at ExpiresAt. Keeping the counts here rather than in memory is
// what lets several app instances share one limit.
type Attempts struct {
	bun.BaseModel `bun:"table:attempts"`

	Key       string    `bun:",pk"`
	Count     int       `bun:",notnull"`
	ExpiresAt time.Time `bun:",notnull"`
}

// Attempts returns the live windows of keys, by key; a key without one is
// absent (its count is zero).
func (s *Store) Attempts(ctx context.Context, keys ...string) (map[string]Attempts, error) {
	var rows []Attempts
	err := s.db.NewSelect().Model(&rows).Where("key IN (?)", bun.In(keys)).Where("expires_at > ?", s.now()).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("attempts: %w", err)
	}
	return byKey(rows), nil
}

// AddAttempt counts one attempt against each of keys (which must differ)
// and returns their windows as they are now, this attempt included. A key
// whose window has ended starts a new one of length window. It is one
// statement, an upsert, so that attempts on several instances at once are
// each counted exactly once.
func (s *Store) AddAttempt(ctx context.Context, window time.Duration, keys ...string) (map[string]Attempts, error) {
	now := s.now()
	// Sorted: two upserts of the same keys then lock their rows in the
	// same order and cannot deadlock.
	keys = slices.Sorted(slices.Values(keys))
	rows := make([]Attempts, len(keys))
	for i, k := range keys {
		rows[i] = Attempts{Key: k, Count: 1, ExpiresAt: now.Add(window)}
	}
	// Both SET expressions read the row as it was, so an ended window is
	// replaced whole.
	var out []Attempts
	err := s.db.NewInsert().Model(&rows).
		On("CONFLICT (key) DO UPDATE").
		Set("count = CASE WHEN attempts.expires_at <= ? THEN 1 ELSE attempts.count + 1 END", now).
		Set("expires_at = CASE WHEN attempts.expires_at <= ? THEN EXCLUDED.expires_at ELSE attempts.expires_at END", now).
		Returning("key, count, expires_at").
		Scan(ctx, &out)
	if err != nil {
		return nil, fmt.Errorf("add attempt: %w", err)
	}
	return byKey(out), nil
}

// RemoveAttempt takes back one attempt counted against each of keys in
// their live windows: one that AddAttempt counted but that must not count
// after all (it succeeded, or was refused without being tried).
func (s *Store) RemoveAttempt(ctx context.Context, keys ...string) error {
	_, err := s.db.NewUpdate().Model((*Attempts)(nil)).Set("count = count - 1").
		Where("key IN (?)", bun.In(keys)).Where("count > 0").Where("expires_at > ?", s.now()).Exec(ctx)
	if err != nil {
		return fmt.Errorf("remove attempt: %w", err)
	}
	return nil
}

// DeleteAttempts forgets the windows of keys, as a successful sign-in does
// for its account.
func (s *Store) DeleteAttempts(ctx context.Context, keys ...string) error {
	if _, err := s.db.NewDelete().Model((*Attempts)(nil)).Where("key IN (?)", bun.In(keys)).Exec(ctx); err != nil {
		return fmt.Errorf("delete attempts: %w", err)
	}
	return nil
}

// DeleteExpiredAttempts removes the windows that have ended, so that the
// table holds only live ones; the server runs it periodically. It returns
// how many went.
func (s *Store) DeleteExpiredAttempts(ctx context.Context) (int, error) {
	res, err := s.db.NewDelete().Model((*Attempts)(nil)).Where("expires_at <= ?", s.now()).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("delete expired attempts: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

func byKey(rows []Attempts) map[string]Attempts {
	m := make(map[string]Attempts, len(rows))
	for _, a := range rows {
		m[a.Key] = a
	}
	return m
}
