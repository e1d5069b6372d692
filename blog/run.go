package main

import (
	"bufio"
	"context"
	crand "crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/blogstack/blogstack/blog/internal/auth"
	"github.com/blogstack/blogstack/blog/internal/awsauth"
	"github.com/blogstack/blogstack/blog/internal/config"
	"github.com/blogstack/blogstack/blog/internal/importer"
	"github.com/blogstack/blogstack/blog/internal/media"
	"github.com/blogstack/blogstack/blog/internal/metrics"
	"github.com/blogstack/blogstack/blog/internal/seed"
	"github.com/blogstack/blogstack/blog/internal/store"
	"github.com/blogstack/blogstack/blog/internal/web"
)

const usage = `usage: blog [command]

commands:
  serve                         apply pending migrations, then serve HTTP (the default)
  migrate [--grant-to ROLE]     apply pending migrations and exit; with --grant-to
                                (PostgreSQL), let login role ROLE read and write
                                every table, but not change the schema
  healthcheck                   exit 0 when this host's blog answers /readyz
  user create --email E [--role admin|author] [--name N]
                                create or update an author; password from
                                BLOG_ADMIN_PASSWORD or the first line of stdin
  seed --posts N [--if-empty]   fill the database with N demo posts
  import django|wordpress|ghost FILE [--map FILE] [--pages] [--old-url URL] [--dry-run]
                                import another blog's export in one transaction;
                                old URLs answer 301s (see the README)
  version                       print the version

The environment configures everything else (see the README).`

// run is the whole program; main only wires it to the process.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "version", "--version":
		fmt.Fprintf(stdout, "blog %s %s\n", version, commit)
		return nil
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	case "healthcheck":
		return healthcheck(ctx, getenv)
	case "serve", "migrate", "user", "seed", "import":
	default:
		return fmt.Errorf("unknown command %q\n%s", cmd, usage)
	}

	cfg, err := config.Load(getenv, isTerminal(stderr))
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)

	switch cmd {
	case "serve":
		if len(args) > 0 {
			return fmt.Errorf("serve takes no arguments, got %q", args)
		}
		return serve(ctx, cfg, log)
	case "migrate":
		return migrateCommand(ctx, cfg, log, args)
	case "user":
		return userCommand(ctx, cfg, log, args, getenv, stdin, stdout)
	case "import":
		return importCommand(ctx, cfg, log, args, stdout, stderr)
	default:
		return seedCommand(ctx, cfg, log, args, stdout)
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

// migrateCommand applies pending migrations and, with --grant-to, gives
// the app's own database role what it needs to run and no more.
func migrateCommand(ctx context.Context, cfg config.Config, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	grantTo := fs.String("grant-to", "", "login role that may read and write every table but not change the schema")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("migrate: %w (usage: blog migrate [--grant-to ROLE])", err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("migrate: unexpected argument %q", fs.Arg(0))
	}
	// Checked before anything is applied, so a typo changes nothing.
	if *grantTo != "" {
		if cfg.DatabaseURL == "" {
			return errors.New("migrate: --grant-to is for PostgreSQL (DATABASE_URL); SQLite has no roles")
		}
		if err := store.CheckRoleName(*grantTo); err != nil {
			return fmt.Errorf("migrate: --grant-to: %w", err)
		}
	}
	st, err := openAndMigrate(ctx, cfg, log)
	if err != nil {
		return err
	}
	if *grantTo != "" {
		if err := st.GrantApp(ctx, *grantTo); err != nil {
			st.Close()
			return fmt.Errorf("migrate: --grant-to %s: %w", *grantTo, err)
		}
		log.Info("granted the app role its privileges", "role", *grantTo)
	}
	return st.Close()
}

// databasePassword is what signs the blog in to PostgreSQL: nil (the
// password in DATABASE_URL or PGPASSWORD) or, with BLOG_DATABASE_AUTH=iam, a
// fresh RDS IAM token per connection from the AWS credentials (on ECS, the
// task role).
func databasePassword(cfg config.Config) store.PasswordFunc {
	if cfg.DatabaseAuth != "iam" {
		return nil
	}
	return awsauth.RDSPassword(cfg.AWSRegion, awsauth.Credentials(os.Getenv, cfg.AWSCredentialsFile))
}

// openAndMigrate opens the configured database and applies pending
// migrations.
func openAndMigrate(ctx context.Context, cfg config.Config, log *slog.Logger) (*store.Store, error) {
	st, err := store.Open(ctx, cfg.DatabaseURL, cfg.SQLitePath(), databasePassword(cfg))
	if err != nil {
		if cfg.DatabaseURL != "" {
			return nil, fmt.Errorf("DATABASE_URL: %w", err)
		}
		return nil, err
	}
	st.Log = log
	applied, err := st.Migrate(ctx)
	if err != nil {
		st.Close()
		return nil, err
	}
	for _, name := range applied {
		log.Info("applied migration", "name", name)
	}
	return st, nil
}

// serve runs the HTTP server until ctx is cancelled (SIGTERM or SIGINT),
// then drains: /readyz turns 503 for cfg.ShutdownDelay while requests are
// still served, so a proxy stops sending new ones, then in-flight requests
// complete and the server stops.
func serve(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	if err := cfg.EnsureSecretKey(); err != nil {
		return err
	}
	assets, missing, err := web.LoadAssets()
	if err != nil {
		return err
	}
	for _, name := range missing {
		log.Warn("static file missing: pages work without it but without enhancement; run make to copy it from node_modules", "file", name)
	}
	st, err := openAndMigrate(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := bootstrapAdmin(ctx, cfg, st, log); err != nil {
		return err
	}

	// A soft memory limit a little above the page cache's bound (at least
	// 32 MB of it): the garbage collector works harder near it instead of
	// letting a burst (a sitemap of every post, 64 pages rendering at
	// once) double the heap. GOMEMLIMIT, read by the runtime itself, takes
	// precedence.
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(max(cfg.CacheBytes, 32<<20) + 48<<20)
	}
	bucket, err := media.OpenBucket(cfg.MediaURL, cfg.AWSCredentialsFile)
	if err != nil {
		return err
	}
	m := metrics.New(metrics.Build{Version: version, Commit: commit}, st.DB())
	srv := web.NewServer(cfg, st, log, assets, m, web.WithMedia(bucket))
	hs := &http.Server{
		Addr:              cfg.Addr,
		Handler:           srv,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       20 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	ln, err := listen(cfg.Addr)
	if err != nil {
		return fmt.Errorf("BLOG_ADDR: %w", err)
	}
	log.Info("serving", "addr", ln.Addr().String(), "url", cfg.BaseURL.String(), "database", st.Dialect(), "version", version)

	go sweepSessions(ctx, st, log)
	// Other instances' writes (and blog import, blog seed) reach this
	// instance's page cache through the store's change listener. It keeps
	// listening while the server drains, which still serves pages and
	// answers other instances' writes, and stops with it.
	listenCtx, stopListening := context.WithCancel(context.WithoutCancel(ctx))
	defer stopListening()
	go st.Listen(listenCtx, nil)
	errc := make(chan error, 2)
	if cfg.MetricsAddr != "" {
		ms, err := serveMetrics(cfg.MetricsAddr, m, log, errc)
		if err != nil {
			ln.Close()
			return err
		}
		// The metrics stay up through the drain, then go at once.
		defer ms.Close()
	}
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}

	srv.Drain()
	log.Info("draining: readiness is now 503", "delay", cfg.ShutdownDelay)
	time.Sleep(cfg.ShutdownDelay)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

// serveMetrics serves the Prometheus metrics on their own listener, which
// the proxy never publishes; a failure of that server ends the process like
// one of the public server (errc).
func serveMetrics(addr string, m *metrics.Metrics, log *slog.Logger, errc chan<- error) (*http.Server, error) {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	ms := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		WriteTimeout:      30 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("BLOG_METRICS_ADDR: %w", err)
	}
	log.Info("serving metrics", "addr", ln.Addr().String(), "path", "/metrics")
	go func() {
		if err := ms.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("metrics: %w", err)
		}
	}()
	return ms, nil
}

// sweepSessions deletes expired and idle sessions (and the nonces of
// expired comment forms, and rate-limit windows that have ended) every ten
// minutes until ctx ends, so that the tables hold only live rows even when
// nobody signs out. Running it on every replica at once is harmless.
func sweepSessions(ctx context.Context, st *store.Store, log *slog.Logger) {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		if n, err := st.DeleteExpiredSessions(ctx, web.SessionIdle); err != nil && ctx.Err() == nil {
			log.Warn("sweep sessions", "err", err)
		} else if n > 0 {
			log.Info("expired sessions deleted", "event", "sessions_expired", "count", n)
		}
		if _, err := st.DeleteExpiredNonces(ctx); err != nil && ctx.Err() == nil {
			log.Warn("sweep comment nonces", "err", err)
		}
		if _, err := st.DeleteExpiredAttempts(ctx); err != nil && ctx.Err() == nil {
			log.Warn("sweep rate-limit windows", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// bootstrapAdmin creates the first admin from BLOG_ADMIN_EMAIL and
// BLOG_ADMIN_PASSWORD when no author exists yet.
func bootstrapAdmin(ctx context.Context, cfg config.Config, st *store.Store, log *slog.Logger) error {
	if cfg.AdminEmail == "" {
		return nil
	}
	n, err := st.AuthorCount(ctx)
	if err != nil || n > 0 {
		return err
	}
	hash, err := auth.HashPassword(cfg.AdminPassword)
	if err != nil {
		return fmt.Errorf("BLOG_ADMIN_PASSWORD: %w", err)
	}
	if _, err := st.SaveAuthor(ctx, store.Author{Email: cfg.AdminEmail, Name: "Admin", PasswordHash: hash, Role: store.RoleAdmin}); err != nil {
		return err
	}
	log.Info("created the first admin", "email", cfg.AdminEmail)
	return nil
}

// healthcheck asks this host's server for /readyz; it needs no config
// beyond BLOG_ADDR, so it works in a distroless image's HEALTHCHECK.
func healthcheck(ctx context.Context, getenv func(string) string) error {
	addr := getenv("BLOG_ADDR")
	if addr == "" {
		addr = ":8080"
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("BLOG_ADDR: %q is not a host:port address", addr)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(host, port)+"/readyz", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: /readyz answered %s", resp.Status)
	}
	return nil
}

func userCommand(ctx context.Context, cfg config.Config, log *slog.Logger, args []string, getenv func(string) string, stdin io.Reader, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("usage: blog user create --email E [--role admin|author] [--name N]")
	}
	fs := flag.NewFlagSet("user create", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	email := fs.String("email", "", "the author's email (their login)")
	role := fs.String("role", store.RoleAuthor, "admin or author")
	name := fs.String("name", "", "display name (defaults to the part of the email before @)")
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("user create: %w", err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("user create: unexpected argument %q", fs.Arg(0))
	}
	*email = strings.TrimSpace(*email)
	at := strings.IndexByte(*email, '@')
	if at < 1 || at == len(*email)-1 || strings.ContainsAny(*email, " \t\r\n") {
		return fmt.Errorf("user create: --email %q is not an email address", *email)
	}
	if *role != store.RoleAdmin && *role != store.RoleAuthor {
		return fmt.Errorf("user create: --role %q must be admin or author", *role)
	}
	if *name == "" {
		*name = (*email)[:at]
	}
	password := getenv("BLOG_ADMIN_PASSWORD")
	if password == "" {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("user create: read password from stdin: %w", err)
		}
		password = strings.TrimRight(line, "\r\n")
	}
	if password == "" {
		return errors.New("user create: no password: set BLOG_ADMIN_PASSWORD or pipe it on stdin")
	}
	hash, err := auth.HashPassword(password, *email, *name)
	if err != nil {
		return fmt.Errorf("user create: %w", err)
	}
	st, err := openAndMigrate(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer st.Close()
	a, err := st.SaveAuthor(ctx, store.Author{Email: *email, Name: *name, PasswordHash: hash, Role: *role})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "saved %s %s (id %d)\n", a.Role, a.Email, a.ID)
	return nil
}

// demoEmail is the demo author's login.
const demoEmail = "demo@example.com"

func seedCommand(ctx context.Context, cfg config.Config, log *slog.Logger, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	posts := fs.Int("posts", 0, "how many posts to create (1 to 100000)")
	comments := fs.Int("comments", 0, "about how many comments in all (default: 0 to 4 per post)")
	ifEmpty := fs.Bool("if-empty", false, "only seed a database that has no posts")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("seed: %w (usage: blog seed --posts N [--comments N] [--if-empty])", err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("seed: unexpected argument %q", fs.Arg(0))
	}
	if *posts < 1 || *posts > 100_000 {
		return fmt.Errorf("seed: --posts must be between 1 and 100000, got %d", *posts)
	}
	st, err := openAndMigrate(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer st.Close()
	loginFile := filepath.Join(cfg.DataDir, "demo-login.txt")
	if *ifEmpty {
		_, n, err := st.Posts(ctx, store.PostFilter{Drafts: true, Limit: 1})
		if err != nil {
			return err
		}
		if n > 0 {
			fmt.Fprintf(stdout, "the database already has %d posts; not seeding\n", n)
			if b, err := os.ReadFile(loginFile); err == nil {
				fmt.Fprint(stdout, string(b))
			}
			return nil
		}
	}
	author, err := st.AuthorByEmail(ctx, demoEmail)
	if errors.Is(err, store.ErrNotFound) {
		password := crand.Text()[:16]
		hash, herr := auth.HashPassword(password)
		if herr != nil {
			return herr
		}
		author, err = st.SaveAuthor(ctx, store.Author{Email: demoEmail, Name: "Demo Author", PasswordHash: hash, Role: store.RoleAdmin})
		if err == nil {
			login := fmt.Sprintf("demo login: %s / %s (sign in at /login)\n", demoEmail, password)
			fmt.Fprint(stdout, login)
			if werr := os.WriteFile(loginFile, []byte(login), 0o600); werr != nil && cfg.DatabaseURL == "" {
				log.Warn("could not save the demo login", "err", werr)
			}
		}
	}
	if err != nil {
		return err
	}
	var progress io.Writer
	if isTerminal(stdout) {
		progress = stdout
	}
	seedRand := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 42))
	if err := seed.Run(ctx, st, seed.Options{Posts: *posts, Comments: *comments, AuthorID: author.ID, Now: time.Now(), Rand: seedRand, Progress: progress}); err != nil {
		return err
	}
	// Fresh statistics, or the planner guesses from an empty table until
	// autovacuum comes by and sorts every post for the home page.
	if err := st.Analyze(ctx); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "seeded %d posts into %s\n", *posts, st.Dialect())
	return nil
}

// importCommand imports another blog's export: it parses and checks the
// whole file first, then writes it in one transaction and prints the
// report (only the report with --dry-run).
func importCommand(ctx context.Context, cfg config.Config, log *slog.Logger, args []string, stdout, stderr io.Writer) error {
	const use = "usage: blog import django|wordpress|ghost FILE [--map FILE] [--pages] [--old-url URL] [--dry-run]"
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	mapFile := fs.String("map", "", "django: mapping of models and fields (JSON)")
	pages := fs.Bool("pages", false, "wordpress, ghost: import pages as posts (default: skip them)")
	oldURL := fs.String("old-url", "", "ghost: the old site's address, for the __GHOST_URL__ in its links and images")
	dryRun := fs.Bool("dry-run", false, "print the report, write nothing")
	// Flags may come before, between or after the source and the file.
	var pos []string
	for rest := args; ; rest = fs.Args()[1:] {
		if err := fs.Parse(rest); err != nil {
			return fmt.Errorf("import: %w (%s)", err, use)
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
	}
	if len(pos) != 2 {
		return fmt.Errorf("import: want a source and a file, got %q (%s)", pos, use)
	}
	kind, file := pos[0], pos[1]
	if *mapFile != "" && kind != "django" {
		return errors.New("import: --map is for django only")
	}
	if *oldURL != "" {
		if u, err := url.Parse(*oldURL); kind != "ghost" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return errors.New("import: --old-url is for ghost only, and an http(s) address such as https://old.example.com")
		}
	}
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	defer f.Close()
	var data importer.Data
	switch kind {
	case "django":
		m, err := importer.LoadDjangoMap(*mapFile)
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
		data, err = importer.ParseDjango(f, m)
		if err != nil {
			return fmt.Errorf("import %s: %w", file, err)
		}
	case "wordpress":
		data, err = importer.ParseWordPress(f, *pages)
	case "ghost":
		data, err = importer.ParseGhost(f, *pages, *oldURL)
	default:
		return fmt.Errorf("import: unknown source %q (%s)", kind, use)
	}
	if err != nil {
		return fmt.Errorf("import %s: %w", file, err)
	}
	st, err := openAndMigrate(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer st.Close()
	opts := importer.Options{DryRun: *dryRun}
	if isTerminal(stderr) {
		opts.Progress = stderr
	}
	rep, err := importer.Run(ctx, st, kind, data, opts)
	if err != nil {
		return err
	}
	rep.Write(stdout)
	return nil
}
