package release

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
)

const (
	composeFile = "docker-compose.prod.yml"
	// Paths shared with the stack and host/ (see host/bootstrap, host/deploy).
	secretsFile = "/etc/blog/app.env"
	dataVolume  = "/srv/blog"
)

// prodEnv is what host/deploy exports when it runs compose.
func prodEnv() map[string]string {
	return map[string]string{
		"BLOG_IMAGE":      "123456789012.dkr.ecr.eu-west-1.amazonaws.com/blog:main-0123abc",
		"BLOG_DOMAIN":     "blog.example.com",
		"BLOG_PREVIEW":    "",
		"BLOG_ACME_EMAIL": "ops@example.com",
		"BLOG_ETC":        "/etc/blog",
		"BLOG_DATA":       "/srv/blog",
		// From stack.env (host/deploy exports them).
		"AWS_REGION":            "eu-west-1",
		"BLOG_LOG_GROUP_PREFIX": "blog-prod",
	}
}

// loadCompose loads the production compose file the way `docker compose`
// does on the host, with env as the shell environment. The secrets file
// exists only on the host, so env_file entries are checked, not read.
func loadCompose(t testing.TB, env map[string]string) (*types.Project, error) {
	t.Helper()
	return loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  root,
		ConfigFiles: []types.ConfigFile{{Filename: rootPath(composeFile)}},
		Environment: env,
	}, func(o *loader.Options) {
		o.SkipResolveEnvironment = true
		o.ResolvePaths = true
	})
}

func mustLoadCompose(t testing.TB, env map[string]string) *types.Project {
	t.Helper()
	p, err := loadCompose(t, env)
	if err != nil {
		t.Fatalf("loading %s: %v", composeFile, err)
	}
	return p
}

func service(t testing.TB, p *types.Project, name string) types.ServiceConfig {
	t.Helper()
	s, err := p.GetService(name)
	if err != nil {
		t.Fatalf("service %q: %v", name, err)
	}
	return s
}

// env returns a service's environment variable ("" when unset or empty).
func env(s types.ServiceConfig, key string) string {
	if v := s.Environment[key]; v != nil {
		return *v
	}
	return ""
}

func TestComposeServices(t *testing.T) {
	p := mustLoadCompose(t, prodEnv())
	if p.Name != "blog" {
		t.Errorf("project name = %q, want blog (host/deploy finds containers as blog-app-N)", p.Name)
	}
	names := p.ServiceNames()
	slices.Sort(names)
	if want := []string{"app", "db", "migrate", "proxy"}; !slices.Equal(names, want) {
		t.Fatalf("services = %v, want %v", names, want)
	}
}

func TestComposeRequiredVariables(t *testing.T) {
	tests := []struct {
		unset   string
		message string // what the operator reads
	}{
		{"BLOG_IMAGE", "BLOG_IMAGE must be set"},
		{"BLOG_DOMAIN", "BLOG_DOMAIN must be set"},
		{"AWS_REGION", "AWS_REGION must be set"},
		{"BLOG_LOG_GROUP_PREFIX", "BLOG_LOG_GROUP_PREFIX must be set"},
	}
	for _, tt := range tests {
		t.Run(tt.unset, func(t *testing.T) {
			for _, value := range []string{"unset", "empty"} {
				e := prodEnv()
				delete(e, tt.unset)
				if value == "empty" {
					e[tt.unset] = ""
				}
				_, err := loadCompose(t, e)
				if err == nil {
					t.Fatalf("loading with %s %s succeeded, want an error", tt.unset, value)
				}
				if !strings.Contains(err.Error(), tt.message) {
					t.Errorf("with %s %s: error %q does not say %q", tt.unset, value, err, tt.message)
				}
			}
		})
	}

	// The optional ones are optional.
	e := prodEnv()
	delete(e, "BLOG_PREVIEW")
	delete(e, "BLOG_ACME_EMAIL")
	if _, err := loadCompose(t, e); err != nil {
		t.Errorf("loading without BLOG_PREVIEW and BLOG_ACME_EMAIL: %v", err)
	}
}

func TestComposeImages(t *testing.T) {
	e := prodEnv()
	p := mustLoadCompose(t, e)
	for _, name := range []string{"app", "migrate"} {
		if got := service(t, p, name).Image; got != e["BLOG_IMAGE"] {
			t.Errorf("%s image = %q, want $BLOG_IMAGE %q (the pipeline's immutable tag)", name, got, e["BLOG_IMAGE"])
		}
	}
	tests := []struct {
		service string
		image   *regexp.Regexp
	}{
		{"proxy", regexp.MustCompile(`^caddy:2\.\d+\.\d+(-alpine)?@sha256:[0-9a-f]{64}$`)},
		// Pinned major version: a new major needs pg_upgrade, never a pull.
		{"db", regexp.MustCompile(`^postgres:18\.\d+(-alpine|-trixie|-bookworm)?@sha256:[0-9a-f]{64}$`)},
	}
	for _, tt := range tests {
		if got := service(t, p, tt.service).Image; !tt.image.MatchString(got) {
			t.Errorf("%s image = %q, want it pinned by version and digest (%s)", tt.service, got, tt.image)
		}
	}
}

func TestComposeDependencies(t *testing.T) {
	p := mustLoadCompose(t, prodEnv())
	tests := []struct {
		service, on, condition string
	}{
		{"app", "db", types.ServiceConditionHealthy},
		// The app starts only after the one-shot migrator exited 0.
		{"app", "migrate", types.ServiceConditionCompletedSuccessfully},
		{"migrate", "db", types.ServiceConditionHealthy},
		{"proxy", "app", types.ServiceConditionHealthy},
	}
	for _, tt := range tests {
		dep, ok := service(t, p, tt.service).DependsOn[tt.on]
		if !ok {
			t.Errorf("%s does not depend on %s", tt.service, tt.on)
			continue
		}
		if dep.Condition != tt.condition {
			t.Errorf("%s depends on %s with condition %q, want %q", tt.service, tt.on, dep.Condition, tt.condition)
		}
	}
}

func TestComposeHealthchecks(t *testing.T) {
	p := mustLoadCompose(t, prodEnv())
	tests := []struct {
		service string
		test    []string // the command, exec form
	}{
		{"app", []string{"CMD", "/blog", "healthcheck"}},
		{"db", nil}, // checked below: pg_isready
		{"proxy", nil},
	}
	for _, tt := range tests {
		hc := service(t, p, tt.service).HealthCheck
		if hc == nil || hc.Disable || len(hc.Test) == 0 {
			t.Errorf("%s has no healthcheck", tt.service)
			continue
		}
		if hc.Test[0] != "CMD" {
			t.Errorf("%s healthcheck %q is not exec form", tt.service, hc.Test)
		}
		if tt.test != nil && !slices.Equal(hc.Test, tt.test) {
			t.Errorf("%s healthcheck = %q, want %q", tt.service, hc.Test, tt.test)
		}
		if hc.Interval == nil || hc.Timeout == nil || hc.Retries == nil {
			t.Errorf("%s healthcheck must set interval, timeout and retries", tt.service)
		}
	}
	db := service(t, p, "db").HealthCheck
	if db == nil || !slices.Contains(db.Test, "pg_isready") {
		t.Errorf("db healthcheck must run pg_isready, is %v", db)
	} else if !slices.Contains(db.Test, "--host=127.0.0.1") {
		t.Errorf("db healthcheck %q must check over TCP: during initdb the socket answers before the server is ready", db.Test)
	}
	if hc := service(t, p, "migrate").HealthCheck; hc == nil || !hc.Disable {
		t.Error("migrate is a one-shot; the image's HEALTHCHECK must be disabled for it")
	}
}

func TestComposePorts(t *testing.T) {
	p := mustLoadCompose(t, prodEnv())
	for _, name := range []string{"app", "migrate", "db"} {
		s := service(t, p, name)
		if len(s.Ports) > 0 {
			t.Errorf("%s publishes ports %v; only the proxy may", name, s.Ports)
		}
	}
	var published []string
	for _, port := range service(t, p, "proxy").Ports {
		published = append(published, port.Published+":"+strconv.FormatUint(uint64(port.Target), 10)+"/"+port.Protocol)
	}
	slices.Sort(published)
	if want := []string{"443:443/tcp", "443:443/udp", "80:80/tcp"}; !slices.Equal(published, want) {
		t.Errorf("proxy publishes %v, want %v", published, want)
	}
}

func TestComposeLockedDown(t *testing.T) {
	p := mustLoadCompose(t, prodEnv())
	for _, name := range []string{"app", "migrate"} {
		t.Run(name, func(t *testing.T) {
			s := service(t, p, name)
			if !s.ReadOnly {
				t.Error("the root filesystem must be read-only")
			}
			var tmpfs []string
			for _, m := range s.Tmpfs {
				tmpfs = append(tmpfs, strings.SplitN(m, ":", 2)[0])
			}
			for _, want := range []string{"/tmp", env(s, "BLOG_DATA_DIR")} {
				if !slices.Contains(tmpfs, want) {
					t.Errorf("no tmpfs at %q (tmpfs: %v); the blog needs it writable", want, s.Tmpfs)
				}
			}
			if !slices.Equal(s.CapDrop, []string{"ALL"}) || len(s.CapAdd) > 0 {
				t.Errorf("cap_drop = %v, cap_add = %v, want all dropped and none added", s.CapDrop, s.CapAdd)
			}
			if !slices.Contains(s.SecurityOpt, "no-new-privileges:true") {
				t.Errorf("security_opt = %v, want no-new-privileges:true", s.SecurityOpt)
			}
			if s.User != "65532:65532" {
				t.Errorf("user = %q, want 65532:65532 (distroless nonroot)", s.User)
			}
			if memoryLimit(s) <= 0 {
				t.Error("no memory limit")
			}
			if s.Deploy == nil || s.Deploy.Resources.Limits == nil || s.Deploy.Resources.Limits.Pids <= 0 {
				t.Error("no pids limit")
			}
		})
	}

	app := service(t, p, "app")
	if app.Restart != types.RestartPolicyUnlessStopped && app.Restart != types.RestartPolicyAlways {
		t.Errorf("app restart = %q, want unless-stopped or always", app.Restart)
	}
	if migrate := service(t, p, "migrate"); migrate.Restart != types.RestartPolicyNo {
		t.Errorf("migrate restart = %q, want no (a one-shot)", migrate.Restart)
	}
	if got, want := []string(service(t, p, "migrate").Command), []string{"migrate"}; !slices.Equal(got, want) {
		t.Errorf("migrate command = %q, want %q", got, want)
	}

	// The app drains for BLOG_SHUTDOWN_DELAY, then shuts down for up to 15s.
	delay, err := time.ParseDuration(env(app, "BLOG_SHUTDOWN_DELAY"))
	if err != nil {
		t.Fatalf("app BLOG_SHUTDOWN_DELAY: %v", err)
	}
	if g := app.StopGracePeriod; g == nil || time.Duration(*g) < delay+15*time.Second {
		t.Errorf("app stop_grace_period = %v, want at least %s (drain %s + shutdown 15s)", g, delay+15*time.Second, delay)
	}

	for _, name := range []string{"proxy", "db"} {
		s := service(t, p, name)
		if memoryLimit(s) <= 0 {
			t.Errorf("%s has no memory limit", name)
		}
		if !slices.Contains(s.SecurityOpt, "no-new-privileges:true") {
			t.Errorf("%s security_opt = %v, want no-new-privileges:true", name, s.SecurityOpt)
		}
		if s.Restart != types.RestartPolicyUnlessStopped && s.Restart != types.RestartPolicyAlways {
			t.Errorf("%s restart = %q, want unless-stopped or always", name, s.Restart)
		}
	}
	if proxy := service(t, p, "proxy"); !proxy.ReadOnly || !slices.Equal(proxy.CapDrop, []string{"ALL"}) || !slices.Equal(proxy.CapAdd, []string{"NET_BIND_SERVICE"}) {
		t.Errorf("proxy: read_only = %v, cap_drop = %v, cap_add = %v; want read-only, only NET_BIND_SERVICE", proxy.ReadOnly, proxy.CapDrop, proxy.CapAdd)
	}
	if g := service(t, p, "db").StopGracePeriod; g == nil || time.Duration(*g) < 30*time.Second {
		t.Errorf("db stop_grace_period = %v, want at least 30s for a clean shutdown", g)
	}

	for _, s := range p.Services {
		// The local copy Docker keeps beside a remote driver rotates too.
		if s.Logging == nil || s.Logging.Options["cache-max-size"] == "" {
			t.Errorf("%s logs without rotation; the host's disk would fill", s.Name)
		}
	}
}

func memoryLimit(s types.ServiceConfig) int64 {
	if s.Deploy != nil && s.Deploy.Resources.Limits != nil && s.Deploy.Resources.Limits.MemoryBytes > 0 {
		return int64(s.Deploy.Resources.Limits.MemoryBytes)
	}
	return int64(s.MemLimit)
}

func TestComposeVolumes(t *testing.T) {
	p := mustLoadCompose(t, prodEnv())

	binds := func(name string) map[string]types.ServiceVolumeConfig {
		m := map[string]types.ServiceVolumeConfig{}
		for _, v := range service(t, p, name).Volumes {
			if v.Type != types.VolumeTypeBind {
				t.Errorf("%s mounts a %s volume at %s; data lives on the host's data volume", name, v.Type, v.Target)
			}
			m[v.Target] = v
		}
		return m
	}

	db := binds("db")
	dbService := service(t, p, "db")
	// postgres 18 keeps PGDATA in /var/lib/postgresql/<major>/docker;
	// mounting the old /var/lib/postgresql/data makes the image refuse to
	// start, and a PGDATA outside the mount would live in the container.
	major := regexp.MustCompile(`^postgres:(\d+)`).FindStringSubmatch(dbService.Image)
	if major == nil {
		t.Fatalf("db image %q names no major version", dbService.Image)
	}
	pgdata := "/var/lib/postgresql/" + major[1] + "/docker"
	if got := env(dbService, "PGDATA"); got != pgdata {
		t.Errorf("db PGDATA = %q, want %q (the image's default for postgres %s)", got, pgdata, major[1])
	}
	if v, ok := db[pgdata]; !ok || v.Source != dataVolume+"/postgres/"+major[1]+"/docker" {
		t.Errorf("db must mount %s/postgres/%s/docker at PGDATA %s, mounts %v", dataVolume, major[1], pgdata, db)
	}
	if _, ok := db["/var/lib/postgresql/data"]; ok {
		t.Error("db mounts /var/lib/postgresql/data, the pre-18 PGDATA")
	}

	proxy := binds("proxy")
	for target, source := range map[string]string{"/data": dataVolume + "/caddy/data", "/config": dataVolume + "/caddy/config"} {
		if v, ok := proxy[target]; !ok || v.Source != source {
			t.Errorf("proxy must mount %s at %s (certificates outlive the host), mounts %v", source, target, proxy)
		}
	}

	// Caddy runs the repository's host/Caddyfile, mounted read-only.
	cmd := service(t, p, "proxy").Command
	i := slices.Index(cmd, "--config")
	if i < 0 || i+1 >= len(cmd) {
		t.Fatalf("proxy command %q names no --config", cmd)
	}
	config := cmd[i+1]
	var found bool
	for target, v := range proxy {
		rel, err := filepath.Rel(target, config)
		if err != nil || strings.HasPrefix(rel, "..") {
			continue
		}
		found = true
		if !v.ReadOnly {
			t.Errorf("the Caddyfile's mount %s must be read-only", target)
		}
		if got, want := filepath.Join(v.Source, rel), rootPath("host", "Caddyfile"); got != want {
			t.Errorf("proxy runs %s from the host's %s, want the repository's %s", config, got, want)
		}
	}
	if !found {
		t.Errorf("proxy runs %s, which no volume provides", config)
	}

	// The app keeps nothing on disk: its one mount is the folder of its
	// media credentials, read-only (host/media-credentials writes it).
	for _, name := range []string{"app", "migrate"} {
		vs := service(t, p, name).Volumes
		if len(vs) != 1 || vs[0].Type != types.VolumeTypeBind || !vs[0].ReadOnly || vs[0].Target != "/run/blog-aws" || vs[0].Source != "/etc/blog/aws" {
			t.Errorf("%s mounts %+v; want only /etc/blog/aws read-only at /run/blog-aws", name, vs)
		}
	}
}

func TestComposeSecrets(t *testing.T) {
	// Secrets in the shell that runs compose must not leak into the model:
	// they reach containers only through the env file.
	e := prodEnv()
	const canary = "canary-9f8e7d6c5b4a"
	for _, k := range []string{"POSTGRES_PASSWORD", "BLOG_SECRET_KEY", "DATABASE_URL", "BLOG_ADMIN_PASSWORD"} {
		e[k] = canary
	}
	p := mustLoadCompose(t, e)
	out, err := p.MarshalYAML()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), canary) {
		t.Errorf("a secret from the environment ends up in the compose model:\n%s", out)
	}

	secretish := regexp.MustCompile(`(?i)password|secret|token|private|credential|^DATABASE_URL$`)
	for _, s := range p.Services {
		for k := range s.Environment {
			// NAME_FILE is where a secret is read from, not the secret.
			if secretish.MatchString(k) && !strings.HasSuffix(k, "_FILE") {
				t.Errorf("%s sets %s in the compose file; secrets come from %s", s.Name, k, secretsFile)
			}
		}
	}
	for _, name := range []string{"app", "migrate", "db"} {
		files := service(t, p, name).EnvFiles
		if len(files) != 1 || files[0].Path != secretsFile || !bool(files[0].Required) {
			t.Errorf("%s env_file = %+v, want the required %s", name, files, secretsFile)
		}
	}
	if files := service(t, p, "proxy").EnvFiles; len(files) > 0 {
		t.Errorf("proxy reads %v; Caddy needs no secret", files)
	}

	raw := string(readRoot(t, composeFile))
	for _, literal := range []string{"postgres://", "postgresql://", "BEGIN ", "AKIA"} {
		if strings.Contains(raw, literal) {
			t.Errorf("%s contains %q; credentials belong in %s", composeFile, literal, secretsFile)
		}
	}
}

func TestComposeAppEnvironment(t *testing.T) {
	tests := []struct {
		name        string
		preview     string
		acmeEmail   string
		wantPreview string
		wantEmail   string
	}{
		{"production", "", "ops@example.com", "", "email ops@example.com"},
		{"preview stack", "1", "", "1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := prodEnv()
			e["BLOG_PREVIEW"], e["BLOG_ACME_EMAIL"] = tt.preview, tt.acmeEmail
			p := mustLoadCompose(t, e)
			for _, name := range []string{"app", "migrate"} {
				s := service(t, p, name)
				if got := env(s, "BLOG_PREVIEW"); got != tt.wantPreview {
					t.Errorf("%s BLOG_PREVIEW = %q, want %q", name, got, tt.wantPreview)
				}
				if got, want := env(s, "BLOG_BASE_URL"), "https://"+e["BLOG_DOMAIN"]; got != want {
					t.Errorf("%s BLOG_BASE_URL = %q, want %q", name, got, want)
				}
				if got := env(s, "BLOG_ADDR"); got != ":8080" {
					t.Errorf("%s BLOG_ADDR = %q, want :8080", name, got)
				}
			}
			proxy := service(t, p, "proxy")
			if got := env(proxy, "BLOG_SITE_ADDRESS"); got != e["BLOG_DOMAIN"] {
				t.Errorf("proxy BLOG_SITE_ADDRESS = %q, want the domain %q (automatic HTTPS)", got, e["BLOG_DOMAIN"])
			}
			if got := env(proxy, "BLOG_ACME_EMAIL_OPTION"); got != tt.wantEmail {
				t.Errorf("proxy BLOG_ACME_EMAIL_OPTION = %q, want %q", got, tt.wantEmail)
			}
			if got := env(proxy, "BLOG_UPSTREAM"); got != "" {
				t.Errorf("proxy BLOG_UPSTREAM = %q, want it unset: production dials the Caddyfile's default, the alias host/deploy gives", got)
			}
		})
	}
}

func TestComposeNetworks(t *testing.T) {
	p := mustLoadCompose(t, prodEnv())
	nets := func(name string) []string {
		var out []string
		for n := range service(t, p, name).Networks {
			out = append(out, n)
		}
		slices.Sort(out)
		return out
	}
	tests := []struct {
		service string
		want    []string
	}{
		{"proxy", []string{"edge"}},
		{"app", []string{"backend", "edge"}},
		{"migrate", []string{"backend"}},
		{"db", []string{"backend"}}, // Caddy cannot reach the database
	}
	for _, tt := range tests {
		if got := nets(tt.service); !slices.Equal(got, tt.want) {
			t.Errorf("%s networks = %v, want %v", tt.service, got, tt.want)
		}
	}
	if !p.Networks["backend"].Internal {
		t.Error("the backend network must be internal (no route out)")
	}

	// Traffic reaches an app container only once host/deploy gives it the
	// alias the Caddyfile dials, on the edge network compose creates: no
	// container may have it from compose, or it would get readers before
	// it is healthy.
	if edge := service(t, p, "app").Networks["edge"]; edge != nil && len(edge.Aliases) > 0 {
		t.Errorf("app's edge aliases = %v, want none (host/deploy adds the live alias)", edge.Aliases)
	}
	deploy := string(readRoot(t, "host/deploy"))
	alias := regexp.MustCompile(`(?m)^live_alias=(\S+)$`).FindStringSubmatch(deploy)
	network := regexp.MustCompile(`(?m)^edge_network=(\S+)$`).FindStringSubmatch(deploy)
	upstream := regexp.MustCompile(`reverse_proxy \{\$BLOG_UPSTREAM:([^:}]+):8080\}`).FindStringSubmatch(string(readRoot(t, "host/Caddyfile")))
	switch {
	case alias == nil || network == nil || upstream == nil:
		t.Errorf("host/deploy's live_alias (%v) or edge_network (%v), or the Caddyfile's default upstream (%v), not found", alias, network, upstream)
	case alias[1] != upstream[1]:
		t.Errorf("host/deploy gives the alias %s, the Caddyfile dials %s", alias[1], upstream[1])
	case network[1] != p.Name+"_edge":
		t.Errorf("host/deploy attaches to %s, compose names the edge network %s_edge", network[1], p.Name)
	}

	// The app believes X-Forwarded-For only from Caddy's network.
	edge := p.Networks["edge"].Ipam.Config
	if len(edge) != 1 {
		t.Fatalf("the edge network must have one fixed subnet, has %v", edge)
	}
	subnet, err := netip.ParsePrefix(edge[0].Subnet)
	if err != nil {
		t.Fatalf("edge subnet: %v", err)
	}
	if got := env(service(t, p, "app"), "BLOG_TRUSTED_PROXIES"); got != subnet.String() {
		t.Errorf("app BLOG_TRUSTED_PROXIES = %q, want Caddy's network %s", got, subnet)
	}
	// AWS's default VPC is 172.31.0.0/16: a bridge there would shadow it.
	if vpc := netip.MustParsePrefix("172.31.0.0/16"); vpc.Overlaps(subnet) {
		t.Errorf("edge subnet %s overlaps the default VPC %s", subnet, vpc)
	}
}

func TestComposeFileIsWhatTheHostRuns(t *testing.T) {
	// The file must not depend on anything beside it but host/.
	raw := string(readRoot(t, composeFile))
	for _, m := range regexp.MustCompile(`(?m)^\s*-\s*(\.[^:\s]*):`).FindAllStringSubmatch(raw, -1) {
		if rel := filepath.Clean(m[1]); rel != "host" && !strings.HasPrefix(rel, "host/") {
			t.Errorf("the compose file mounts %s; only host/ is delivered beside it", m[1])
		}
	}
	if _, err := os.Stat(rootPath("host", "Caddyfile")); err != nil {
		t.Error(err)
	}
}

// Nothing may start PostgreSQL (or Caddy) on a directory that is not on the
// data volume: every bind from it must make Docker refuse a missing source
// instead of creating it (release/engine's TestDataVolumeMissing proves it
// on a real engine).
func TestComposeDataBindsNeverCreateTheirSource(t *testing.T) {
	p := mustLoadCompose(t, prodEnv())
	n := 0
	for _, s := range p.Services {
		for _, v := range s.Volumes {
			if !strings.HasPrefix(v.Source, dataVolume+"/") {
				continue
			}
			n++
			if v.Bind == nil || v.Bind.CreateHostPath {
				t.Errorf("%s mounts %s without bind.create_host_path: false", s.Name, v.Source)
			}
		}
	}
	if n != 3 {
		t.Errorf("%d binds from the data volume, want 3 (PGDATA, Caddy's data and config)", n)
	}
}

// The settings the real-engine tests (and a host with a mirror) move have
// production's values as defaults, and move what they say.
func TestComposeMovableSettings(t *testing.T) {
	e := prodEnv()
	delete(e, "BLOG_ETC")
	delete(e, "BLOG_DATA")
	def := mustLoadCompose(t, e)
	var published []string
	for _, port := range service(t, def, "proxy").Ports {
		published = append(published, port.Published+"/"+port.Protocol)
	}
	slices.Sort(published)
	if want := []string{"443/tcp", "443/udp", "80/tcp"}; !slices.Equal(published, want) {
		t.Errorf("proxy publishes %v, want %v (HTTP/3 on UDP 443)", published, want)
	}
	for _, port := range service(t, def, "proxy").Ports {
		if port.HostIP != "" {
			t.Errorf("by default the proxy publishes on %s only, want every address", port.HostIP)
		}
	}

	e["BLOG_ETC"], e["BLOG_DATA"] = "/tmp/t/etc", "/tmp/t/data"
	e["BLOG_PROXY_IMAGE"], e["BLOG_DB_IMAGE"] = "mirror/caddy:x", "mirror/postgres:y"
	e["BLOG_HTTP_PUBLISH"], e["BLOG_HTTPS_PUBLISH"] = "127.0.0.1:8080", "127.0.0.1:8443"
	p := mustLoadCompose(t, e)
	if got := service(t, p, "proxy").Image; got != "mirror/caddy:x" {
		t.Errorf("BLOG_PROXY_IMAGE not used: %s", got)
	}
	if got := service(t, p, "db").Image; got != "mirror/postgres:y" {
		t.Errorf("BLOG_DB_IMAGE not used: %s", got)
	}
	for _, v := range append(service(t, p, "db").Volumes, service(t, p, "proxy").Volumes...) {
		if strings.HasPrefix(v.Source, dataVolume) {
			t.Errorf("%s still comes from %s with BLOG_DATA moved", v.Target, dataVolume)
		}
	}
	for _, f := range service(t, p, "app").EnvFiles {
		if f.Path != "/tmp/t/etc/app.env" {
			t.Errorf("app env file %s, want it below BLOG_ETC", f.Path)
		}
	}
	for _, port := range service(t, p, "proxy").Ports {
		if port.HostIP != "127.0.0.1" {
			t.Errorf("proxy publishes %s on %q with BLOG_*_PUBLISH set", port.Published, port.HostIP)
		}
	}
}

// TestComposeLogsToCloudWatch: every container logs to its service's log
// group, never blocking the app on CloudWatch; the driver can be moved for
// a machine without AWS (the real-engine tests).
func TestComposeLogsToCloudWatch(t *testing.T) {
	p := mustLoadCompose(t, prodEnv())
	groups := map[string]string{"app": "blog-prod-app", "migrate": "blog-prod-app", "proxy": "blog-prod-proxy", "db": "blog-prod-db"}
	for _, s := range p.Services {
		l := s.Logging
		if l == nil || l.Driver != "awslogs" {
			t.Errorf("%s logs with %+v, want awslogs", s.Name, l)
			continue
		}
		o := l.Options
		if o["awslogs-group"] != groups[s.Name] || o["awslogs-region"] != "eu-west-1" || o["awslogs-create-group"] != "false" {
			t.Errorf("%s logs to %v", s.Name, o)
		}
		if o["mode"] != "non-blocking" || o["max-buffer-size"] == "" || o["tag"] != "{{.Name}}/{{.ID}}" {
			t.Errorf("%s: mode %q, buffer %q, stream %q", s.Name, o["mode"], o["max-buffer-size"], o["tag"])
		}
	}
	e := prodEnv()
	e["BLOG_LOG_DRIVER"] = "none"
	for _, s := range mustLoadCompose(t, e).Services {
		if s.Logging.Driver != "none" {
			t.Errorf("%s ignores BLOG_LOG_DRIVER: %s", s.Name, s.Logging.Driver)
		}
	}
	// The metrics port is the app's own, published by no one.
	app := service(t, p, "app")
	if env(app, "BLOG_METRICS_ADDR") != ":9090" {
		t.Errorf("app BLOG_METRICS_ADDR = %q", env(app, "BLOG_METRICS_ADDR"))
	}
	for _, s := range p.Services {
		for _, port := range s.Ports {
			if port.Target == 9090 {
				t.Errorf("%s publishes the metrics port: %+v", s.Name, port)
			}
		}
	}
}
