package engine

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"time"
)

// No registry is reachable here, so every image a deploy pulls is built on
// this machine and pushed to a registry the suite runs on 127.0.0.1 (the
// CNCF distribution registry, built from the module proxy): host/deploy's
// `compose pull` then pulls for real. What differs from production, all of
// it outside the files that ship:
//
//   - the blog image is built from the repository's Dockerfile, but on local
//     stand-ins for its base images (passed as NODE_IMAGE, GO_IMAGE and
//     RUNTIME_IMAGE): Debian with this machine's Node.js and an offline npm
//     cache, Debian with this machine's Go and an offline module cache, and a
//     scratch image with distroless's nonroot user. The Dockerfile is fed
//     without its `# syntax=` line, so BuildKit uses its built-in frontend
//     instead of fetching one from a registry;
//   - Caddy is the version the compose file pins, built from the module
//     proxy, on Debian (whose busybox-less wget serves the healthcheck);
//   - PostgreSQL is Debian bookworm's, 15, where production runs 18, behind
//     an entrypoint that does what the compose file relies on from the
//     official image (testdata/postgres/docker-entrypoint.sh);
//   - the releases after the first are the first image with a wrapper in
//     front of /blog (testdata/shim) that names the release in the page
//     title and can break one step; the first is the Dockerfile's image as
//     built.

// Test image names. Local only: they are pushed to the test registry under
// the names the tests deploy.
const (
	debianImage  = "blogstack-test/debian:bookworm"
	nodeImage    = "blogstack-test/node:local"
	goImage      = "blogstack-test/golang:local"
	runtimeImage = "blogstack-test/static:nonroot"
	caddyImage   = "blogstack-test/caddy:local"
	pgImage      = "blogstack-test/postgres:15"
	blogImage    = "blogstack-test/blog:built"
)

// cacheDir keeps what is slow to make between runs: root filesystems,
// offline module and npm caches, the test registry's storage.
func cacheDir() string {
	base := os.Getenv("XDG_CACHE_HOME")
	if base == "" {
		home, _ := os.UserHomeDir()
		base = filepath.Join(home, ".cache")
	}
	return filepath.Join(base, "blogstack")
}

// run runs a command and returns its combined output; the error includes it.
func run(dir string, env []string, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// docker runs the docker CLI.
func docker(args ...string) (string, error) { return run("", nil, "docker", args...) }

// imageLabel returns a label of a local image, or "" when there is no image.
func imageLabel(ref, label string) string {
	out, err := docker("image", "inspect", "-f", `{{index .Config.Labels "`+label+`"}}`, ref)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(out)
}

// imageID is a local image's id, "" when there is none: the inputs of an
// image built on it.
func imageID(ref string) string {
	out, err := docker("image", "inspect", "-f", "{{.Id}}", ref)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(out)
}

// hashOf is a short hash of the inputs that make an image.
func hashOf(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		io.WriteString(h, p)
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// fileHash hashes a file's content.
func fileHash(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "missing"
	}
	return hashOf(string(b))
}

// build builds tag from dockerfile (given as text, fed on stdin) and the
// context directory, labelled with inputs so that a later run with the same
// inputs reuses it. TestMain prunes BuildKit's cache when the tests are
// done (see pruneBuildCache).
func build(tag, inputs, dockerfile, context string, args ...string) error {
	if imageLabel(tag, "blogstack.test.inputs") == inputs {
		return nil
	}
	cmdArgs := []string{"build", "-q", "-t", tag, "--label", "blogstack.test.inputs=" + inputs, "-f", "-"}
	for _, a := range args {
		cmdArgs = append(cmdArgs, "--build-arg", a)
	}
	cli, err := buildCLI()
	if err != nil {
		return err
	}
	cmd := exec.Command(cli, append(cmdArgs, context)...)
	cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=1")
	cmd.Stdin = strings.NewReader(dockerfile)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("docker build %s: %v\n%s", tag, err, out)
	}
	return nil
}

// buildCLI is a docker CLI that can build with BuildKit: one with the buildx
// plugin, or one from before 23.0, which drives the engine's built-in
// BuildKit itself (Debian's docker.io). A newer CLI without buildx (one may
// come first on PATH) refuses DOCKER_BUILDKIT=1, and the legacy builder
// cannot read the Dockerfile's RUN --mount.
func buildCLI() (string, error) {
	var tried []string
	for _, cli := range []string{"docker", "/usr/bin/docker"} {
		path, err := exec.LookPath(cli)
		if err != nil {
			continue
		}
		if _, err := run("", nil, path, "buildx", "version"); err == nil {
			return path, nil
		}
		v, err := run("", nil, path, "version", "--format", "{{.Client.Version}}")
		if major, _, _ := strings.Cut(strings.TrimSpace(v), "."); err == nil && len(major) > 0 && major < "23" && len(major) <= 2 {
			return path, nil
		}
		tried = append(tried, path+" "+strings.TrimSpace(v))
	}
	return "", fmt.Errorf("no docker CLI here can build with BuildKit (tried %v): install buildx, or Debian's docker.io", tried)
}

// rootfs returns a tarball of a Debian bookworm root filesystem made with
// debootstrap (minbase plus PostgreSQL 15, wget and CA certificates: one
// file system for every test base image, so it is made once and imported
// once), cached.
func rootfs() (string, error) {
	dir := filepath.Join(cacheDir(), "rootfs")
	tarball := filepath.Join(dir, "bookworm.tar")
	if _, err := os.Stat(tarball); err == nil {
		return tarball, nil
	}
	if _, err := exec.LookPath("debootstrap"); err != nil {
		return "", fmt.Errorf("debootstrap is not installed (apt-get install debootstrap): %v", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp("", "rootfs-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	if _, err := run("", nil, "debootstrap", "--variant=minbase",
		"--include=postgresql-15,postgresql-client-15,wget,ca-certificates",
		"bookworm", tmp, "http://deb.debian.org/debian"); err != nil {
		return "", err
	}
	// The root directory's mode is the temporary directory's (0700):
	// processes of other users could read nothing.
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", err
	}
	// Debian's package creates a cluster; the image's entrypoint makes its
	// own in PGDATA.
	for _, p := range []string{"var/lib/postgresql/15/main", "etc/postgresql/15/main", "var/lib/apt/lists"} {
		_ = os.RemoveAll(filepath.Join(tmp, p))
	}
	if _, err := run("", nil, "tar", "-C", tmp, "-cf", tarball+".tmp", "."); err != nil {
		return "", err
	}
	return tarball, os.Rename(tarball+".tmp", tarball)
}

// repoRoot is the repository root, two levels up.
func repoRoot() string {
	dir, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		panic(err)
	}
	return dir
}

// pinnedCaddyVersion reads the Caddy version from the compose file's
// default proxy image (caddy:2.11.7-alpine@sha256:...).
func pinnedCaddyVersion() (string, error) {
	b, err := os.ReadFile(filepath.Join(repoRoot(), "docker-compose.prod.yml"))
	if err != nil {
		return "", err
	}
	m := regexp.MustCompile(`(?m)^\s*image: \$\{BLOG_PROXY_IMAGE:-caddy:(\d+\.\d+\.\d+)-`).FindSubmatch(b)
	if m == nil {
		return "", fmt.Errorf("no caddy:<version> default for BLOG_PROXY_IMAGE in docker-compose.prod.yml")
	}
	return string(m[1]), nil
}

// caddyBinary is Caddy at the pinned version, built from the module proxy
// into the cache (.ci/run builds the same one and sets CADDY_BIN).
func caddyBinary() (string, error) {
	v, err := pinnedCaddyVersion()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cacheDir(), "caddy-"+v)
	bin := filepath.Join(dir, "caddy")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	_, err = run("", []string{"GOBIN=" + dir, "CGO_ENABLED=0"}, "go", "install", "github.com/caddyserver/caddy/v2/cmd/caddy@v"+v)
	return bin, err
}

// registryBinary is the CNCF distribution registry, built once.
const registryVersion = "v3.0.0"

func registryBinary() (string, error) {
	dir := filepath.Join(cacheDir(), "registry-"+registryVersion)
	bin := filepath.Join(dir, "registry")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	_, err := run("", []string{"GOBIN=" + dir, "CGO_ENABLED=0"}, "go", "install", "github.com/distribution/distribution/v3/cmd/registry@"+registryVersion)
	return bin, err
}

// startRegistry runs the registry on a free loopback port with its storage
// in the cache (pushes of unchanged layers are then skipped), and returns
// its host:port and a stop function. Docker pulls from 127.0.0.0/8 over
// plain HTTP without configuration.
func startRegistry() (string, func(), error) {
	bin, err := registryBinary()
	if err != nil {
		return "", nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	addr := l.Addr().String()
	l.Close()
	storage := filepath.Join(cacheDir(), "registry-storage")
	config := fmt.Sprintf("version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: %s\n", storage, addr)
	cfg := filepath.Join(os.TempDir(), "blogstack-registry.yml")
	if err := os.WriteFile(cfg, []byte(config), 0o644); err != nil {
		return "", nil, err
	}
	cmd := exec.Command(bin, "serve", cfg)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if resp, err := http.Get("http://" + addr + "/v2/"); err == nil {
			resp.Body.Close()
			return addr, stop, nil
		}
	}
	stop()
	return "", nil, fmt.Errorf("the registry did not answer on %s:\n%s", addr, out.String())
}

// imageSet is what one run of the suite deploys, by registry reference.
type imageSet struct {
	registry string // host:port of the test registry
	blog     string // BLOG_REGISTRY: <registry>/blog, tags below
	proxy    string // BLOG_PROXY_IMAGE
	db       string // BLOG_DB_IMAGE
}

// Releases the scenarios deploy, pushed as <registry>/blog:<tag>. v1 is the
// Dockerfile's image as built; the others are derived (see testdata/shim).
var releases = []struct{ tag, brk string }{
	{"v2", ""},
	{"v3", ""},
	{"v4", ""},
	{"bad-migrate", "migrate"},
	{"bad-exits", "serve-exits"},
	{"bad-unhealthy", "never-healthy"},
}

// buildImages builds (or reuses) every image, starts the registry and
// pushes them. logf reports the time each step took.
func buildImages(logf func(string, ...any)) (*imageSet, func(), error) {
	step := func(name string, f func() error) error {
		start := time.Now()
		err := f()
		logf("images: %s took %s", name, time.Since(start).Round(100*time.Millisecond))
		return err
	}
	tmp, err := os.MkdirTemp("", "blogstack-images-")
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(tmp)
	root := repoRoot()

	if err := step("debian root filesystem", func() error {
		tarball, err := rootfs()
		if err != nil {
			return err
		}
		fi, err := os.Stat(tarball)
		if err != nil {
			return err
		}
		inputs := hashOf("rootfs", fi.ModTime().String(), fmt.Sprint(fi.Size()))
		if imageLabel(debianImage, "blogstack.test.inputs") == inputs {
			return nil
		}
		// docker import takes no label; a one-line build adds it.
		if _, err := docker("import", tarball, debianImage+"-raw"); err != nil {
			return err
		}
		err = build(debianImage, inputs, "FROM "+debianImage+"-raw\n", tmp)
		_, _ = docker("rmi", debianImage+"-raw")
		return err
	}); err != nil {
		return nil, nil, err
	}

	if err := step("postgres image", func() error {
		ctx := filepath.Join(tmp, "pg")
		entry := filepath.Join("testdata", "postgres", "docker-entrypoint.sh")
		if err := os.MkdirAll(ctx, 0o755); err != nil {
			return err
		}
		if _, err := run("", nil, "cp", entry, ctx); err != nil {
			return err
		}
		return build(pgImage, hashOf("pg", imageID(debianImage), fileHash(entry)), `FROM `+debianImage+`
ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8
COPY docker-entrypoint.sh /usr/local/bin/
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
STOPSIGNAL SIGINT
EXPOSE 5432
CMD ["postgres"]
`, ctx)
	}); err != nil {
		return nil, nil, err
	}

	if err := step("caddy image", func() error {
		bin, err := caddyBinary()
		if err != nil {
			return err
		}
		ctx := filepath.Join(tmp, "caddy")
		if err := os.MkdirAll(ctx, 0o755); err != nil {
			return err
		}
		if _, err := run("", nil, "cp", bin, ctx); err != nil {
			return err
		}
		// What the official image sets: where Caddy keeps its data and
		// config (the compose file mounts the data volume there).
		return build(caddyImage, hashOf("caddy", imageID(debianImage), fileHash(bin)), `FROM `+debianImage+`
COPY caddy /usr/bin/caddy
ENV XDG_CONFIG_HOME=/config XDG_DATA_HOME=/data
WORKDIR /srv
EXPOSE 80 443 443/udp 2019
CMD ["caddy", "run", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"]
`, ctx)
	}); err != nil {
		return nil, nil, err
	}

	if err := step("node, go and runtime base images", func() error { return buildBases(tmp, root) }); err != nil {
		return nil, nil, err
	}

	if err := step("blog image from the Dockerfile", func() error { return buildBlog(root) }); err != nil {
		return nil, nil, err
	}

	if err := step("derived releases", func() error { return buildReleases(tmp) }); err != nil {
		return nil, nil, err
	}

	reg, stop, err := startRegistry()
	if err != nil {
		return nil, nil, err
	}
	set := &imageSet{registry: reg, blog: reg + "/blog", proxy: reg + "/caddy:test", db: reg + "/postgres:test"}
	push := map[string]string{set.proxy: caddyImage, set.db: pgImage, set.blog + ":v1": blogImage}
	for _, r := range releases {
		push[set.blog+":"+r.tag] = "blogstack-test/blog:" + r.tag
	}
	if err := step("push to the test registry", func() error {
		for ref, local := range push {
			if _, err := docker("tag", local, ref); err != nil {
				return err
			}
			if _, err := docker("push", "-q", ref); err != nil {
				return err
			}
			// Deploys must pull: only the local name stays.
			if _, err := docker("rmi", ref); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		stop()
		return nil, nil, err
	}
	return set, stop, nil
}

// buildBases makes the stand-ins for the Dockerfile's base images.
func buildBases(tmp, root string) error {
	// Node: this machine's node and npm on Debian, with an npm cache that
	// holds what package-lock.json names, used offline.
	node, err := exec.LookPath("node")
	if err != nil {
		return fmt.Errorf("node is not installed: %v", err)
	}
	node, _ = filepath.EvalSymlinks(node)
	npmDir := "/usr/lib/node_modules/npm"
	if out, err := run("", nil, "npm", "root", "-g"); err == nil {
		npmDir = filepath.Join(strings.TrimSpace(out), "npm")
	}
	lock := filepath.Join(root, "package-lock.json")
	ctx := filepath.Join(tmp, "node")
	npmCache := filepath.Join(ctx, "npm-cache")
	work := filepath.Join(tmp, "npm-work")
	for _, d := range []string{npmCache, work} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	inputs := hashOf("node", fileHash(node), fileHash(lock), fileHash(filepath.Join(root, "package.json")))
	if imageLabel(nodeImage, "blogstack.test.inputs") != inputs {
		for _, f := range []string{"package.json", "package-lock.json"} {
			if _, err := run("", nil, "cp", filepath.Join(root, f), work); err != nil {
				return err
			}
		}
		if _, err := run(work, nil, "npm", "ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund", "--cache", npmCache); err != nil {
			return err
		}
		if _, err := run("", nil, "cp", node, filepath.Join(ctx, "node")); err != nil {
			return err
		}
		if _, err := run("", nil, "cp", "-a", npmDir, filepath.Join(ctx, "npm")); err != nil {
			return err
		}
		if err := build(nodeImage, inputs, `FROM `+debianImage+`
COPY node /usr/bin/node
COPY npm /usr/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/bin/npm
COPY npm-cache /npm-cache
ENV npm_config_cache=/npm-cache npm_config_offline=true
`, ctx); err != nil {
			return err
		}
	}

	// Go: this machine's toolchain (the same version the golang image
	// pins: go.mod's toolchain) with a module cache that holds what the
	// blog imports, offline.
	goroot, err := run("", nil, "go", "env", "GOROOT")
	if err != nil {
		return err
	}
	goroot = strings.TrimSpace(goroot)
	gover, _ := run("", nil, "go", "env", "GOVERSION")
	inputs = hashOf("go", gover, fileHash(filepath.Join(root, "go.sum")), fileHash(filepath.Join(root, "go.mod")))
	if imageLabel(goImage, "blogstack.test.inputs") != inputs {
		ctx := filepath.Join(tmp, "go")
		modcache := filepath.Join(ctx, "gomodcache")
		hostCache, _ := run("", nil, "go", "env", "GOMODCACHE")
		// Fill a fresh module cache from this machine's (falling back to
		// the proxy) with exactly what building the blog needs.
		env := []string{"GOMODCACHE=" + modcache, "GOFLAGS=-mod=readonly", "CGO_ENABLED=0",
			"GOPROXY=file://" + filepath.Join(strings.TrimSpace(hostCache), "cache", "download") + "," + goproxy()}
		if _, err := run(root, env, "go", "build", "-tags", "nosqlite", "-o", os.DevNull, "./blog"); err != nil {
			return err
		}
		if _, err := run("", nil, "cp", "-a", goroot, filepath.Join(ctx, "go")); err != nil {
			return err
		}
		for _, d := range []string{"test", "doc", "api", "misc", "pkg/obj"} {
			_ = os.RemoveAll(filepath.Join(ctx, "go", d))
		}
		err := build(goImage, inputs, `FROM `+debianImage+`
COPY go /usr/local/go
COPY gomodcache /gomodcache
ENV PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin GOMODCACHE=/gomodcache GOPROXY=off GOTOOLCHAIN=local
`, ctx)
		_, _ = run("", nil, "chmod", "-R", "u+w", modcache)
		if err != nil {
			return err
		}
	}

	// Runtime: distroless static's nonroot user (65532) on scratch, with CA
	// certificates; the blog's binary is static.
	ctx = filepath.Join(tmp, "static")
	if err := os.MkdirAll(filepath.Join(ctx, "etc", "ssl", "certs"), 0o755); err != nil {
		return err
	}
	files := map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n",
		"etc/group":  "root:x:0:\nnonroot:x:65532:\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(ctx, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	if _, err := run("", nil, "cp", "/etc/ssl/certs/ca-certificates.crt", filepath.Join(ctx, "etc", "ssl", "certs")); err != nil {
		return err
	}
	return build(runtimeImage, hashOf("static", files["etc/passwd"]), `FROM scratch
COPY etc /etc
USER 65532:65532
WORKDIR /home/nonroot
`, ctx)
}

// goproxy is the module proxy to fall back on.
func goproxy() string {
	if p := os.Getenv("GOPROXY"); p != "" {
		return p
	}
	return "https://proxy.golang.org"
}

// buildBlog builds the blog image from the repository's Dockerfile, on the
// local base images, without its `# syntax=` line (BuildKit would fetch that
// frontend from a registry; the built-in one reads the same instructions).
// It is rebuilt when any file the build sees changes.
func buildBlog(root string) error {
	raw, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		return err
	}
	lines := strings.SplitN(string(raw), "\n", 2)
	if !strings.HasPrefix(lines[0], "# syntax=") {
		return fmt.Errorf("the Dockerfile's first line is not a # syntax= line: %q", lines[0])
	}
	dockerfile := lines[1]
	// The inputs: the Dockerfile and every tracked or new file git sees.
	tree, err := run(root, nil, "bash", "-c", "git ls-files -co --exclude-standard -z | xargs -0 sha256sum 2>/dev/null | sha256sum")
	if err != nil {
		return err
	}
	return build(blogImage, hashOf("blog", dockerfile, tree), dockerfile, root,
		"NODE_IMAGE="+nodeImage, "GO_IMAGE="+goImage, "RUNTIME_IMAGE="+runtimeImage,
		"VERSION=v1", "COMMIT=0123456789abcdef0123456789abcdef01234567")
}

// buildReleases derives the later releases from the built blog image.
func buildReleases(tmp string) error {
	ctx := filepath.Join(tmp, "shim")
	if err := os.MkdirAll(ctx, 0o755); err != nil {
		return err
	}
	if _, err := run(filepath.Join("testdata", "shim"), []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=" + runtime.GOARCH},
		"go", "build", "-trimpath", "-o", filepath.Join(ctx, "shim"), "main.go"); err != nil {
		return err
	}
	blogID := imageID(blogImage)
	for _, r := range releases {
		inputs := hashOf("release", r.tag, r.brk, blogID, fileHash(filepath.Join("testdata", "shim", "main.go")))
		if err := build("blogstack-test/blog:"+r.tag, inputs, `FROM `+blogImage+` AS blog
FROM `+blogImage+`
COPY --from=blog /blog /blog.real
COPY shim /blog
ENV BLOG_TEST_RELEASE=`+r.tag+` BLOG_TEST_BREAK=`+r.brk+`
`, ctx); err != nil {
			return err
		}
	}
	return nil
}

// pruneBuildCache removes BuildKit's cached layers but keeps its cache
// mounts (the Go build cache, which makes the next blog build fast): with
// the vfs storage driver every cached layer is a full copy on disk. It runs
// after the tests, because deleting those copies takes minutes of disk work
// that would otherwise run beside the load tests.
func pruneBuildCache() {
	start := time.Now()
	if _, err := docker("builder", "prune", "-f", "--filter", "type=regular"); err != nil {
		fmt.Fprintln(os.Stderr, "images: pruning the build cache failed (ignored):", firstLine(err.Error()))
		return
	}
	fmt.Fprintf(os.Stderr, "images: build cache pruned in %s\n", time.Since(start).Round(100*time.Millisecond))
}
