package awsauth

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestCredentialsFromEnvironment(t *testing.T) {
	c, err := Credentials(envOf(map[string]string{"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "tok"}), "").Retrieve(context.Background())
	if err != nil || c.AccessKeyID != "AKID" || c.SecretAccessKey != "secret" || c.SessionToken != "tok" {
		t.Errorf("%+v %v", c, err)
	}
	if _, err := Credentials(envOf(nil), "").Retrieve(context.Background()); err == nil || !strings.Contains(err.Error(), "AWS_ACCESS_KEY_ID") {
		t.Errorf("no credentials: %v, want one saying what to set", err)
	}
}

// The container credentials endpoint, as ECS and EKS serve it: the role's
// session for the authorization token, read from its file each time.
func TestCredentialsFromContainerEndpoint(t *testing.T) {
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("agent-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "agent-token" || r.URL.Path != "/role" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"AccessKeyId": "ASIAROLE", "SecretAccessKey": "s", "Token": "session",
			"Expiration": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)})
	}))
	defer srv.Close()
	env := map[string]string{"AWS_CONTAINER_CREDENTIALS_FULL_URI": srv.URL + "/role", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": tokenFile}
	c, err := Credentials(envOf(env), "").Retrieve(context.Background())
	if err != nil || c.AccessKeyID != "ASIAROLE" || c.SessionToken != "session" || !c.CanExpire {
		t.Errorf("%+v %v", c, err)
	}
	env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "http://169.254.169.254/latest/meta-data/iam"
	if _, err := Credentials(envOf(env), "").Retrieve(context.Background()); err == nil || !strings.Contains(err.Error(), "AWS_CONTAINER_CREDENTIALS_FULL_URI") {
		t.Errorf("plain http off this machine: %v, want a refusal", err)
	}
}

// The app reads the credentials the host writes, again once they are
// about to expire (the host has rewritten the file by then).
func TestFileCredentials(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credentials.json")
	write := func(key string, exp time.Time) {
		b := fmt.Sprintf(`{"Version": 1, "AccessKeyId": %q, "SecretAccessKey": "s", "SessionToken": "t", "Expiration": %q}`, key, exp.Format(time.RFC3339))
		if err := os.WriteFile(path, []byte(b), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	soon := time.Now().Add(5 * time.Minute)
	write("AKIAFIRST", soon)
	cache := Credentials(envOf(nil), path) // as the app makes them
	c, err := cache.Retrieve(context.Background())
	if err != nil || c.AccessKeyID != "AKIAFIRST" || c.SessionToken != "t" || !c.CanExpire {
		t.Fatalf("%+v %v", c, err)
	}
	write("AKIASECOND", time.Now().Add(time.Hour))
	if c, err = cache.Retrieve(context.Background()); err != nil || c.AccessKeyID != "AKIASECOND" {
		t.Errorf("within the expiry window the file is read again: got %s, %v", c.AccessKeyID, err)
	}
	os.WriteFile(path, []byte("not json"), 0o600)
	if _, err := FileCredentials(path).Retrieve(context.Background()); err == nil {
		t.Error("a garbled file gave credentials")
	}
}
