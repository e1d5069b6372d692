package auth

import (
	"errors"
	"strings"
	"testing"
)

func TestPasswords(t *testing.T) {
	hash, err := HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(hash, "correct") || !strings.HasPrefix(hash, "$2") {
		t.Fatalf("not a bcrypt hash: %q", hash)
	}
	if err := CheckPassword(hash, "correct horse battery"); err != nil {
		t.Errorf("right password rejected: %v", err)
	}
	if err := CheckPassword(hash, "correct horse batterY"); !errors.Is(err, ErrWrongPassword) {
		t.Errorf("wrong password: %v", err)
	}
	if err := CheckPassword("not a hash", "x"); !errors.Is(err, ErrWrongPassword) {
		t.Errorf("garbage hash: %v", err)
	}
	for _, bad := range []string{"", "short", strings.Repeat("é", 40)} {
		if _, err := HashPassword(bad); err == nil {
			t.Errorf("HashPassword(%q) accepted", bad)
		}
	}
}
