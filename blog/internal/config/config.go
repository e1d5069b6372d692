// Package config reads the blog's settings from the environment once, at
// start, and validates them so that a bad value stops the process with one
// clear line instead of surfacing later as a confusing failure.
package config

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Config is every setting the blog reads from its environment.
type Config struct {
	DatabaseURL    string         // postgres://... or empty for SQLite
	DatabaseAuth   string         // password (in DatabaseURL or PGPASSWORD) or iam (an RDS IAM token per connection)
	AWSRegion      string         // AWS_REGION: the region IAM tokens are signed for
	DataDir        string         // SQLite file, generated dev secret, uploads
	Addr           string         // listen address
	BaseURL        *url.URL       // absolute URLs; https turns on secure cookies and HSTS
	Title          string         // site title
	SecretKey      []byte         // signs form tokens
	TrustedProxies []netip.Prefix // whose X-Forwarded-For is believed
	Preview        bool           // preview stack: noindex and a banner
	AdminEmail     string         // bootstrap admin, created when no author exists
	AdminPassword  string
	LogFormat      string        // text or json
	ShutdownDelay  time.Duration // how long /readyz reports 503 before the server stops
	CacheBytes     int64         // bound of the in-memory page cache; 0 turns it off
	MetricsAddr    string        // where Prometheus metrics are served; empty: nowhere
	MediaURL       string        // where uploads live: file://... or s3://bucket?prefix=...
	ImgSrc         []string      // image origins the CSP allows besides 'self'
	// AWSCredentialsFile holds the blog's AWS credentials, for an s3://
	// MediaURL and RDS IAM sign-in (awsauth.Credentials); empty: the
	// environment's, or the ECS task role's.
	AWSCredentialsFile string
}

// Secure reports whether the blog is served over https.
func (c Config) Secure() bool { return c.BaseURL.Scheme == "https" }

// SQLitePath is the SQLite database file used when DatabaseURL is empty.
func (c Config) SQLitePath() string { return filepath.Join(c.DataDir, "blog.db") }

// Load reads the configuration through getenv. isTerminal picks the default
// log format. It returns an error naming the first bad variable.
func Load(getenv func(string) string, isTerminal bool) (Config, error) {
	env := func(key, def string) string {
		if v := strings.TrimSpace(getenv(key)); v != "" {
			return v
		}
		return def
	}
	c := Config{
		DatabaseURL:   env("DATABASE_URL", ""),
		DatabaseAuth:  env("BLOG_DATABASE_AUTH", "password"),
		AWSRegion:     env("AWS_REGION", ""),
		DataDir:       env("BLOG_DATA_DIR", "./data"),
		Addr:          env("BLOG_ADDR", ":8080"),
		Title:         env("BLOG_TITLE", "Blog"),
		AdminEmail:    env("BLOG_ADMIN_EMAIL", ""),
		AdminPassword: getenv("BLOG_ADMIN_PASSWORD"),
		MetricsAddr:   env("BLOG_METRICS_ADDR", ""),
	}

	if c.DatabaseURL != "" {
		u, err := url.Parse(c.DatabaseURL)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
			return c, errors.New("DATABASE_URL: must be a postgres://user:password@host:port/dbname URL (leave it empty for SQLite)")
		}
	}

	if err := c.checkDatabaseAuth(); err != nil {
		return c, err
	}

	if _, port, err := net.SplitHostPort(c.Addr); err != nil || port == "" {
		return c, fmt.Errorf("BLOG_ADDR: %q is not a host:port listen address (for example :8080)", c.Addr)
	}

	if c.MetricsAddr != "" {
		if _, port, err := net.SplitHostPort(c.MetricsAddr); err != nil || port == "" {
			return c, fmt.Errorf("BLOG_METRICS_ADDR: %q is not a host:port listen address (for example :9090)", c.MetricsAddr)
		}
		if c.MetricsAddr == c.Addr {
			return c, fmt.Errorf("BLOG_METRICS_ADDR: %q is BLOG_ADDR; metrics need a listener of their own, which the proxy does not publish", c.MetricsAddr)
		}
	}

	// Without a base URL the blog links to itself where it listens locally.
	_, port, _ := net.SplitHostPort(c.Addr)
	base, err := url.Parse(env("BLOG_BASE_URL", "http://localhost:"+port))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return c, fmt.Errorf("BLOG_BASE_URL: %q must be an absolute http:// or https:// URL", getenv("BLOG_BASE_URL"))
	}
	base.Path = strings.TrimSuffix(base.Path, "/")
	base.RawQuery, base.Fragment = "", ""
	c.BaseURL = base

	for _, s := range strings.FieldsFunc(getenv("BLOG_TRUSTED_PROXIES"), func(r rune) bool { return r == ',' || r == ' ' }) {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			addr, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return c, fmt.Errorf("BLOG_TRUSTED_PROXIES: %q is not a CIDR such as 172.18.0.0/16", s)
			}
			p = netip.PrefixFrom(addr, addr.BitLen())
		}
		c.TrustedProxies = append(c.TrustedProxies, p.Masked())
	}

	switch v := env("BLOG_PREVIEW", ""); v {
	case "", "0", "false":
	case "1", "true":
		c.Preview = true
	default:
		return c, fmt.Errorf("BLOG_PREVIEW: %q must be 1 or empty", v)
	}

	def := "json"
	if isTerminal {
		def = "text"
	}
	c.LogFormat = env("BLOG_LOG_FORMAT", def)
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return c, fmt.Errorf("BLOG_LOG_FORMAT: %q must be text or json", c.LogFormat)
	}

	c.ShutdownDelay, err = time.ParseDuration(env("BLOG_SHUTDOWN_DELAY", "5s"))
	if err != nil || c.ShutdownDelay < 0 {
		return c, fmt.Errorf("BLOG_SHUTDOWN_DELAY: %q must be a duration such as 5s", getenv("BLOG_SHUTDOWN_DELAY"))
	}

	mb, err := strconv.Atoi(env("BLOG_CACHE_MB", "32"))
	if err != nil || mb < 0 || mb > 4096 {
		return c, fmt.Errorf("BLOG_CACHE_MB: %q must be a whole number of megabytes from 0 to 4096", getenv("BLOG_CACHE_MB"))
	}
	c.CacheBytes = int64(mb) << 20
	if c.MediaURL, err = mediaURL(env("BLOG_MEDIA_URL", ""), c.DataDir); err != nil {
		return c, err
	}
	c.AWSCredentialsFile = env("BLOG_AWS_CREDENTIALS_FILE", "")
	for _, src := range strings.Fields(strings.ReplaceAll(getenv("BLOG_IMG_SRC"), ",", " ")) {
		if u, err := url.Parse(src); err != nil || u.Scheme != "https" || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || strings.ContainsAny(src, ";'\"") {
			return c, fmt.Errorf("BLOG_IMG_SRC: %q must be an https:// origin such as https://images.example.com", src)
		}
		c.ImgSrc = append(c.ImgSrc, strings.TrimSuffix(src, "/"))
	}

	// The password alone is fine: "blog user create" reads it too.
	if c.AdminEmail != "" && c.AdminPassword == "" {
		return c, errors.New("BLOG_ADMIN_PASSWORD: required when BLOG_ADMIN_EMAIL is set")
	}

	if key := getenv("BLOG_SECRET_KEY"); key != "" {
		if len(key) < 32 {
			return c, errors.New("BLOG_SECRET_KEY: must be at least 32 characters (for example: openssl rand -hex 32)")
		}
		c.SecretKey = []byte(key)
	} else if c.Secure() {
		return c, errors.New("BLOG_SECRET_KEY: required when BLOG_BASE_URL is https (for example: openssl rand -hex 32)")
	}
	return c, nil
}

// checkDatabaseAuth validates BLOG_DATABASE_AUTH and, for iam, what an RDS
// IAM token needs: a PostgreSQL user to sign for, no password to be
// silently replaced, TLS (RDS accepts tokens over TLS only) and a region.
func (c Config) checkDatabaseAuth() error {
	switch c.DatabaseAuth {
	case "password":
		return nil
	case "iam":
	default:
		return fmt.Errorf("BLOG_DATABASE_AUTH: %q must be password or iam", c.DatabaseAuth)
	}
	const example = "postgres://blog@db.example.eu-west-1.rds.amazonaws.com:5432/blog?sslmode=require"
	if c.DatabaseURL == "" {
		return errors.New("DATABASE_URL: required when BLOG_DATABASE_AUTH is iam, for example " + example)
	}
	u, _ := url.Parse(c.DatabaseURL) // parsed above
	if u.User.Username() == "" {
		return errors.New("DATABASE_URL: must name the database user when BLOG_DATABASE_AUTH is iam, for example " + example)
	}
	if _, set := u.User.Password(); set {
		return errors.New("DATABASE_URL: must hold no password when BLOG_DATABASE_AUTH is iam (every connection signs in with an IAM token)")
	}
	if m := u.Query().Get("sslmode"); m != "require" && m != "verify-full" {
		return errors.New("DATABASE_URL: needs sslmode=require or sslmode=verify-full when BLOG_DATABASE_AUTH is iam (RDS takes IAM tokens over TLS only)")
	}
	if c.AWSRegion == "" {
		return errors.New("AWS_REGION: required when BLOG_DATABASE_AUTH is iam (the region of the RDS instance the tokens are signed for)")
	}
	return nil
}

// EnsureSecretKey fills SecretKey for development: it is generated once into
// the data directory so that form tokens survive restarts.
func (c *Config) EnsureSecretKey() error {
	if len(c.SecretKey) > 0 {
		return nil
	}
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return fmt.Errorf("BLOG_DATA_DIR: %w", err)
	}
	path := filepath.Join(c.DataDir, "secret.key")
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) >= 32 {
		c.SecretKey = []byte(strings.TrimSpace(string(b)))
		return nil
	}
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return err
	}
	key := hex.EncodeToString(buf)
	if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
		return fmt.Errorf("BLOG_DATA_DIR: writing the development secret: %w", err)
	}
	c.SecretKey = []byte(key)
	return nil
}

// mediaURL is where uploads live: BLOG_MEDIA_URL, or a media folder in the
// data directory so that development needs nothing set.
func mediaURL(v, dataDir string) (string, error) {
	if v == "" {
		abs, err := filepath.Abs(filepath.Join(dataDir, "media"))
		if err != nil {
			return "", fmt.Errorf("BLOG_DATA_DIR: %w", err)
		}
		return (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String(), nil
	}
	u, err := url.Parse(v)
	if err != nil || !(u.Scheme == "file" && u.Path != "" || u.Scheme == "s3" && u.Host != "") {
		return "", fmt.Errorf("BLOG_MEDIA_URL: %q must be file:///absolute/folder or s3://bucket?prefix=media/&region=...", v)
	}
	return v, nil
}
