// Package auth hashes and checks authors' passwords.
package auth

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
)

// MinPasswordLength is the shortest password accepted, in characters.
const MinPasswordLength = 10

// ErrWrongPassword means a password does not match its hash.
var ErrWrongPassword = errors.New("wrong password")

// HashPassword checks a new password's length and hashes it with bcrypt.
func HashPassword(password string) (string, error) {
	if n := utf8.RuneCountInString(password); n < MinPasswordLength {
		return "", fmt.Errorf("the password must be at least %d characters long (it has %d)", MinPasswordLength, n)
	}
	if len(password) > 72 {
		return "", errors.New("the password must be at most 72 bytes long (a bcrypt limit)")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// CheckPassword compares a password with a hash from HashPassword.
func CheckPassword(hash, password string) error {
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil {
		return ErrWrongPassword
	}
	return nil
}
