// Package auth hashes and checks authors' passwords.
package auth

import (
	_ "embed"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
)

// MinPasswordLength is the shortest password accepted, in characters.
const MinPasswordLength = 12

// MaxPasswordBytes is the longest password accepted: bcrypt reads only the
// first 72 bytes, so a longer one is refused rather than cut silently.
const MaxPasswordBytes = 72

// ErrWrongPassword means a password does not match its hash.
var ErrWrongPassword = errors.New("wrong password")

//go:embed common-passwords.txt
var commonList string

// common holds the common passwords and stems, lower case.
var common = func() map[string]bool {
	m := map[string]bool{}
	for _, line := range strings.Split(commonList, "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			m[line] = true
		}
	}
	return m
}()

// CheckNewPassword refuses a password that is too short, longer than
// bcrypt reads, or guessable: one of the common passwords or their stems
// (after l33t is undone and the digits and symbols around the letters are
// taken off), a run of one, two or three characters, a keyboard or
// alphabet sequence, a short unit repeated, or made of the author's email
// or name. The message is for the author.
func CheckNewPassword(password string, personal ...string) error {
	n := utf8.RuneCountInString(password)
	switch {
	case n < MinPasswordLength:
		return fmt.Errorf("the password must be at least %d characters long (it has %d)", MinPasswordLength, n)
	case len(password) > MaxPasswordBytes:
		return fmt.Errorf("the password must be at most %d bytes long (it has %d; bcrypt reads no more)", MaxPasswordBytes, len(password))
	}
	if reason := guessable(password, personal); reason != "" {
		return errors.New("the password is too easy to guess: " + reason + "; a few unrelated words make a strong one")
	}
	return nil
}

var unleet = strings.NewReplacer("0", "o", "1", "i", "3", "e", "4", "a", "5", "s", "7", "t", "@", "a", "$", "s", "!", "i")

var sequences = []string{
	"abcdefghijklmnopqrstuvwxyz", "zyxwvutsrqponmlkjihgfedcba", "0123456789", "9876543210",
	"qwertyuiopasdfghjklzxcvbnm", "mnbvcxzlkjhgfdsapoiuytrewq", "zxcvbnmasdfghjklqwertyuiop", "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
	"qazwsxedcrfvtgbyhnujmikolp", "1q2w3e4r5t6y7u8i9o0p",
}

func guessable(password string, personal []string) string {
	lower := strings.ToLower(password)
	compact := strings.Join(strings.Fields(lower), "")
	stem := strings.TrimFunc(compact, func(r rune) bool { return !unicode.IsLetter(r) })
	for _, candidate := range []string{compact, stem, unleet.Replace(compact), strings.TrimFunc(unleet.Replace(compact), func(r rune) bool { return !unicode.IsLetter(r) })} {
		if common[candidate] {
			return "it is one of the most used passwords"
		}
	}
	distinct := map[rune]bool{}
	for _, r := range compact {
		distinct[r] = true
	}
	if len(distinct) <= 3 {
		return "it uses only " + fmt.Sprint(len(distinct)) + " different characters"
	}
	for _, seq := range sequences {
		if strings.Contains(seq, compact) || strings.Contains(seq+seq, compact) {
			return "it is a keyboard or alphabet sequence"
		}
	}
	for size := 1; size <= len(compact)/2; size++ {
		if len(compact)%size == 0 && strings.Repeat(compact[:size], len(compact)/size) == compact {
			return "it repeats " + fmt.Sprintf("%q", compact[:size])
		}
	}
	for _, p := range personal {
		for _, part := range strings.FieldsFunc(strings.ToLower(p), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
			if len(part) >= 4 && strings.Contains(compact, part) && len(compact)-len(part) < 8 {
				return "it is mostly your name or email"
			}
		}
	}
	return ""
}

// HashPassword checks a new password with CheckNewPassword and hashes it
// with bcrypt.
func HashPassword(password string, personal ...string) (string, error) {
	if err := CheckNewPassword(password, personal...); err != nil {
		return "", err
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
