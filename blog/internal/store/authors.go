package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"
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
// its name, role and password hash and ends every session of theirs (the
// password changed). It returns the saved author.
func (s *Store) SaveAuthor(ctx context.Context, a Author) (Author, error) {
	a.Email = strings.ToLower(strings.TrimSpace(a.Email))
	existing, err := s.AuthorByEmail(ctx, a.Email)
	switch {
	case err == nil:
		a.ID, a.CreatedAt, a.DisabledAt = existing.ID, existing.CreatedAt, existing.DisabledAt
		err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			if _, err := tx.NewUpdate().Model(&a).Column("name", "role", "password_hash").WherePK().Exec(ctx); err != nil {
				return err
			}
			return deleteSessions(ctx, tx, a.ID, "")
		})
	case isNotFound(err):
		a.CreatedAt = s.now()
		_, err = s.db.NewInsert().Model(&a).Returning("id").Exec(ctx)
	}
	if err != nil {
		return Author{}, fmt.Errorf("save author: %w", uniqueViolation(err))
	}
	s.announce(ctx) // bylines show authors' names
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

// AuthorByID returns one author.
func (s *Store) AuthorByID(ctx context.Context, id int64) (Author, error) {
	var a Author
	err := s.db.NewSelect().Model(&a).Where("id = ?", id).Scan(ctx)
	return a, notFound(err, fmt.Sprintf("author %d", id))
}

// SetPassword changes an author's password hash and ends every session of
// theirs but keep (empty: every one).
func (s *Store) SetPassword(ctx context.Context, authorID int64, hash, keep string) error {
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Model((*Author)(nil)).Set("password_hash = ?", hash).Where("id = ?", authorID).Exec(ctx)
		if err := changed(res, err, fmt.Sprintf("set password of author %d", authorID)); err != nil {
			return err
		}
		return deleteSessions(ctx, tx, authorID, keep)
	})
}

// SetDisabled disables an author, ending every session of theirs at once,
// or enables them again. Their posts stay either way.
func (s *Store) SetDisabled(ctx context.Context, authorID int64, disabled bool) error {
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var at *time.Time
		if disabled {
			now := s.now()
			at = &now
		}
		res, err := tx.NewUpdate().Model((*Author)(nil)).Set("disabled_at = ?", at).Where("id = ?", authorID).Exec(ctx)
		if err := changed(res, err, fmt.Sprintf("disable author %d", authorID)); err != nil {
			return err
		}
		if !disabled {
			return nil
		}
		return deleteSessions(ctx, tx, authorID, "")
	})
}

// ErrHasPosts means an author cannot be deleted without handing their
// posts to another author.
var ErrHasPosts = errors.New("the author has posts")

// DeleteAuthor deletes an author and their sessions. Their posts go to
// heirID; with heirID 0 an author who has posts is ErrHasPosts.
func (s *Store) DeleteAuthor(ctx context.Context, id, heirID int64) error {
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if heirID != 0 {
			if heirID == id {
				return fmt.Errorf("hand posts to the author being deleted: %w", ErrHasPosts)
			}
			if _, err := tx.NewUpdate().Model((*Post)(nil)).Set("author_id = ?", heirID).Where("author_id = ?", id).Exec(ctx); err != nil {
				return notFound(err, "hand over posts")
			}
			if _, err := tx.NewUpdate().Model((*Media)(nil)).Set("author_id = ?", heirID).Where("author_id = ?", id).Exec(ctx); err != nil {
				return fmt.Errorf("hand over media: %w", err)
			}
		}
		n, err := tx.NewSelect().Model((*Post)(nil)).Where("author_id = ?", id).Count(ctx)
		if err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("author %d has %d posts: %w", id, n, ErrHasPosts)
		}
		if err := deleteSessions(ctx, tx, id, ""); err != nil {
			return err
		}
		res, err := tx.NewDelete().Model((*Author)(nil)).Where("id = ?", id).Exec(ctx)
		return changed(res, err, fmt.Sprintf("delete author %d", id))
	})
	if err != nil {
		return fmt.Errorf("delete author: %w", err)
	}
	s.announce(ctx) // their posts have another author now
	return nil
}
