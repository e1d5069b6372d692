package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func load(env map[string]string) (Config, error) {
	return Load(func(k string) string { return env[k] }, false)
}

func TestDefaults(t *testing.T) {
	c, err := load(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":8080" || c.BaseURL.String() != "http://localhost:8080" || c.Title != "Blog" || c.LogFormat != "json" || c.Secure() {
		t.Errorf("defaults: %+v", c)
	}
	if c.SQLitePath() != filepath.Join("data", "blog.db") {
		t.Errorf("sqlite path %q", c.SQLitePath())
	}
	if abs, _ := filepath.Abs(filepath.Join("data", "media")); c.MediaURL != "file://"+filepath.ToSlash(abs) || c.ImgSrc != nil {
		t.Errorf("media %q, img-src %q: want a folder in the data directory and nothing else", c.MediaURL, c.ImgSrc)
	}
	c, _ = load(map[string]string{"BLOG_ADDR": "127.0.0.1:9000"})
	if c.BaseURL.String() != "http://localhost:9000" {
		t.Errorf("base URL follows the listen port: %s", c.BaseURL)
	}
}

func TestValid(t *testing.T) {
	c, err := load(map[string]string{
		"DATABASE_URL": "postgres://blog:pw@db:5432/blog?sslmode=disable", "BLOG_BASE_URL": "https://blog.example.com/",
		"BLOG_SECRET_KEY": strings.Repeat("s", 40), "BLOG_TRUSTED_PROXIES": "172.18.0.0/16, 10.0.0.1", "BLOG_PREVIEW": "1",
		"BLOG_SHUTDOWN_DELAY": "0s", "BLOG_MEDIA_URL": "s3://blog-media?prefix=media/&region=eu-west-1",
		"BLOG_IMG_SRC": "https://images.example.com, https://cdn.example.net/",
	})
	if err != nil {
		t.Fatal(err)
	}
	if !c.Secure() || c.BaseURL.String() != "https://blog.example.com" || len(c.TrustedProxies) != 2 || !c.Preview || c.ShutdownDelay != 0 ||
		c.MediaURL != "s3://blog-media?prefix=media/&region=eu-west-1" || strings.Join(c.ImgSrc, " ") != "https://images.example.com https://cdn.example.net" {
		t.Errorf("%+v", c)
	}
}

func TestInvalid(t *testing.T) {
	cases := map[string]map[string]string{
		"DATABASE_URL":         {"DATABASE_URL": "mysql://x"},
		"BLOG_ADDR":            {"BLOG_ADDR": "8080"},
		"BLOG_BASE_URL":        {"BLOG_BASE_URL": "blog.example.com"},
		"BLOG_SECRET_KEY":      {"BLOG_BASE_URL": "https://b.example", "BLOG_SECRET_KEY": "short"},
		"BLOG_TRUSTED_PROXIES": {"BLOG_TRUSTED_PROXIES": "everyone"},
		"BLOG_PREVIEW":         {"BLOG_PREVIEW": "maybe"},
		"BLOG_LOG_FORMAT":      {"BLOG_LOG_FORMAT": "xml"},
		"BLOG_SHUTDOWN_DELAY":  {"BLOG_SHUTDOWN_DELAY": "-1s"},
		"BLOG_ADMIN_PASSWORD":  {"BLOG_ADMIN_EMAIL": "a@b.c"},
		"BLOG_METRICS_ADDR":    {"BLOG_METRICS_ADDR": "9090"},
		"BLOG_MEDIA_URL":       {"BLOG_MEDIA_URL": "ftp://files.example.com/media"},
		"BLOG_IMG_SRC":         {"BLOG_IMG_SRC": "https://a.example 'unsafe-inline'"},
	}
	for name, env := range cases {
		if _, err := load(env); err == nil || !strings.HasPrefix(err.Error(), name) {
			t.Errorf("%s: err = %v, want one naming %s", name, err, name)
		}
	}
	if _, err := load(map[string]string{"BLOG_ADDR": ":8080", "BLOG_METRICS_ADDR": ":8080"}); err == nil || !strings.Contains(err.Error(), "listener of their own") {
		t.Errorf("metrics on the public listener: %v", err)
	}
	if _, err := load(map[string]string{"BLOG_BASE_URL": "https://b.example"}); err == nil || !strings.Contains(err.Error(), "BLOG_SECRET_KEY") {
		t.Errorf("https without a secret key: %v", err)
	}
}

func TestDatabaseAuth(t *testing.T) {
	const rds = "postgres://blog@db.abc.eu-west-1.rds.amazonaws.com:5432/blog?sslmode="
	c, err := load(nil)
	if err != nil || c.DatabaseAuth != "password" {
		t.Errorf("default: %q %v, want password", c.DatabaseAuth, err)
	}
	for _, mode := range []string{"require", "verify-full"} {
		c, err = load(map[string]string{"BLOG_DATABASE_AUTH": "iam", "DATABASE_URL": rds + mode, "AWS_REGION": "eu-west-1"})
		if err != nil || c.DatabaseAuth != "iam" || c.AWSRegion != "eu-west-1" {
			t.Errorf("iam with sslmode=%s: %+v %v", mode, c, err)
		}
	}
	cases := []struct {
		name, want string
		env        map[string]string
	}{
		{"unknown mode", "BLOG_DATABASE_AUTH:", map[string]string{"BLOG_DATABASE_AUTH": "kerberos"}},
		{"iam on SQLite", "DATABASE_URL: required", map[string]string{"BLOG_DATABASE_AUTH": "iam", "AWS_REGION": "eu-west-1"}},
		{"no user", "DATABASE_URL: must name the database user", map[string]string{"BLOG_DATABASE_AUTH": "iam", "AWS_REGION": "eu-west-1",
			"DATABASE_URL": "postgres://db.example:5432/blog?sslmode=require"}},
		{"a password", "DATABASE_URL: must hold no password", map[string]string{"BLOG_DATABASE_AUTH": "iam", "AWS_REGION": "eu-west-1",
			"DATABASE_URL": "postgres://blog:pw@db.example:5432/blog?sslmode=require"}},
		{"no sslmode", "DATABASE_URL: needs sslmode", map[string]string{"BLOG_DATABASE_AUTH": "iam", "AWS_REGION": "eu-west-1",
			"DATABASE_URL": "postgres://blog@db.example:5432/blog"}},
		{"sslmode prefer", "DATABASE_URL: needs sslmode", map[string]string{"BLOG_DATABASE_AUTH": "iam", "AWS_REGION": "eu-west-1", "DATABASE_URL": rds + "prefer"}},
		{"no region", "AWS_REGION:", map[string]string{"BLOG_DATABASE_AUTH": "iam", "DATABASE_URL": rds + "require"}},
	}
	for _, tc := range cases {
		_, err := load(tc.env)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: err = %v, want one line starting %q", tc.name, err, tc.want)
		}
	}
	// Password auth takes any PostgreSQL URL, as before.
	if _, err := load(map[string]string{"BLOG_DATABASE_AUTH": "password", "DATABASE_URL": "postgres://blog:pw@db:5432/blog"}); err != nil {
		t.Errorf("password auth: %v", err)
	}
}

func TestEnsureSecretKey(t *testing.T) {
	c, _ := load(map[string]string{"BLOG_DATA_DIR": t.TempDir()})
	if err := c.EnsureSecretKey(); err != nil || len(c.SecretKey) < 32 {
		t.Fatalf("%v %q", err, c.SecretKey)
	}
	again, _ := load(map[string]string{"BLOG_DATA_DIR": c.DataDir})
	if err := again.EnsureSecretKey(); err != nil || string(again.SecretKey) != string(c.SecretKey) {
		t.Errorf("the generated key is not kept across restarts")
	}
	if fi, err := os.Stat(filepath.Join(c.DataDir, "secret.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("secret file mode: %v %v", fi, err)
	}
}
