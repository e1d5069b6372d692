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
}

// TestNewPasswordRules: 12 characters at least, at most bcrypt's 72 bytes
// (refused, never cut), and nothing common or guessable.
func TestNewPasswordRules(t *testing.T) {
	for _, bad := range []string{
		"", "short", "elevenchars", // too short
		strings.Repeat("é", 40),          // 80 bytes: over what bcrypt reads
		strings.Repeat("a", 73),          // 73 bytes
		"Password2024!", "P@ssw0rd12345", // a common stem with digits and symbols
		"qwertyuiop123", "1q2w3e4r5t6y", "iloveyou1234!", "correcthorsebatterystaple",
		"aaaaaaaaaaaaaa", "abababababab", "abcabcabcabc", // few characters, repeated units
		"abcdefghijklmn", "0123456789012", "zxcvbnmasdfg", // sequences
		"ada.lovelace99", // the author's own email
	} {
		if err := CheckNewPassword(bad, "ada.lovelace@example.com", "Ada Lovelace"); err == nil {
			t.Errorf("CheckNewPassword(%q) accepted", bad)
		}
	}
	for _, good := range []string{
		"correct horse battery", "violet tram cactus", "Xk9#mQ2$vL7@pR4!", strings.Repeat("é", 30) + "violet trams", // exactly 72 bytes
	} {
		if err := CheckNewPassword(good, "ada.lovelace@example.com", "Ada Lovelace"); err != nil {
			t.Errorf("CheckNewPassword(%q): %v", good, err)
		}
	}
}
