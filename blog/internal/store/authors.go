package store

import (
	"context"
	"fmt"
	"strings"
)

// AuthorCount returns how many authors exist.
func (s *Store) AuthorCount(ctx context.Context) (int, error) {
	n, err := s.db.NewSelect().Model((*Author)(nil)).Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("count authors: %w", err)
	}
	return int(n), nil
}

// AuthorByEmail returns the author with that email, case-insensitively.
func (s *Store) AuthorByEmail(ctx context.Context, email string) (Author, error) {
	var a Author
	err := s.db.NewSelect().Model(&a).Where("lower(email) = ?", strings.ToLower(strings.TrimSpace(email))).Scan(ctx)
	return a, notFound(err, "author "+email)
}

// SaveAuthor creates the author with a.Email or, when one exists, updates
// its name, role and password hash. It returns the saved author.
func (s *Store) SaveAuthor(ctx context.Context, a Author) (Author, error) {
	a.Email = strings.ToLower(strings.TrimSpace(a.Email))
	existing, err := s.AuthorByEmail(ctx, a.Email)
	switch {
	case err == nil:
		a.ID, a.CreatedAt = existing.ID, existing.CreatedAt
		_, err = s.db.NewUpdate().Model(&a).Column("name", "role", "password_hash").WherePK().Exec(ctx)
	case isNotFound(err):
		a.CreatedAt = s.now()
		_, err = s.db.NewInsert().Model(&a).Returning("id").Exec(ctx)
	}
	if err != nil {
		return Author{}, fmt.Errorf("save author: %w", uniqueViolation(err))
	}
	return a, nil
}

// Authors lists every author, admins first.
func (s *Store) Authors(ctx context.Context) ([]Author, error) {
	var as []Author
	if err := s.db.NewSelect().Model(&as).Order("role", "email").Scan(ctx); err != nil {
		return nil, fmt.Errorf("authors: %w", err)
	}
	return as, nil
}
