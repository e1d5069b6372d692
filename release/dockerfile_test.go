package release

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"debug/elf"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// The stages the Dockerfile must have, in order.
const (
	stageAssets  = "assets"
	stageBuild   = "build"
	stageRuntime = "runtime"
)

// maxImageBytes is the limit on the image size, in the decimal megabytes
// that `docker images` shows: 25 MB, plus 3 MB for the Prometheus Go client
// and its protobuf dependency (metrics, issue 13), plus 7 MB since the blog
// keeps media in S3 (the AWS SDK's S3 client, without its config package,
// and the image codecs; issue 12).
const maxImageBytes = 35_000_000

// distrolessStaticBytes is the uncompressed size of distroless static:
// about 2 MiB of CA certificates, tzdata and /etc/passwd.
const distrolessStaticBytes = 2 << 20

// pinnedImage is name:tag@sha256:<64 hex>, the form every base image takes.
var pinnedImage = regexp.MustCompile(`^[a-z0-9][a-z0-9./_-]*:[A-Za-z0-9][A-Za-z0-9._-]*@sha256:[0-9a-f]{64}$`)

// dockerfile is the parsed Dockerfile: its stages by name, in order, and the
// defaults of the ARGs before the first FROM.
type dockerfile struct {
	raw    []byte
	stages []instructions.Stage
	args   map[string]string
}

// base is a stage's base image as a build without build arguments sees it:
// FROM ${NODE_IMAGE} is the default of ARG NODE_IMAGE (the tests on a real
// engine pass their own; production builds use the defaults).
func (d dockerfile) base(s instructions.Stage) string {
	if m := regexp.MustCompile(`^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?$`).FindStringSubmatch(s.BaseName); m != nil {
		return d.args[m[1]]
	}
	return s.BaseName
}

func parseDockerfile(t testing.TB, raw []byte) dockerfile {
	t.Helper()
	res, err := parser.Parse(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("parsing the Dockerfile: %v", err)
	}
	stages, metaArgs, err := instructions.Parse(res.AST, nil)
	if err != nil {
		t.Fatalf("reading the Dockerfile's instructions: %v", err)
	}
	args := map[string]string{}
	for _, a := range metaArgs {
		for _, kv := range a.Args {
			if kv.Value != nil {
				args[kv.Key] = *kv.Value
			}
		}
	}
	// RUN --mount flags are only read when the instruction is expanded (as
	// BuildKit does at dispatch); they hold no variables here.
	for _, s := range stages {
		for _, r := range commands[*instructions.RunCommand](s) {
			if err := r.Expand(func(w string) (string, error) { return w, nil }); err != nil {
				t.Fatalf("RUN --mount: %v", err)
			}
		}
	}
	return dockerfile{raw: raw, stages: stages, args: args}
}

func (d dockerfile) stage(t testing.TB, name string) instructions.Stage {
	t.Helper()
	for _, s := range d.stages {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("the Dockerfile has no stage %q", name)
	return instructions.Stage{}
}

// commands returns a stage's instructions of type T.
func commands[T instructions.Command](s instructions.Stage) []T {
	var out []T
	for _, c := range s.Commands {
		if tc, ok := c.(T); ok {
			out = append(out, tc)
		}
	}
	return out
}

// goBuildRun is the RUN instruction of the build stage that runs go build.
func goBuildRun(t testing.TB, s instructions.Stage) *instructions.RunCommand {
	t.Helper()
	for _, r := range commands[*instructions.RunCommand](s) {
		if strings.Contains(strings.Join(r.CmdLine, " "), "go build") {
			return r
		}
	}
	t.Fatalf("stage %q has no RUN with go build", s.Name)
	return nil
}

// stageEnv is the stage's ENV instructions as KEY=value.
func stageEnv(s instructions.Stage) []string {
	var env []string
	for _, e := range commands[*instructions.EnvCommand](s) {
		for _, kv := range e.Env {
			env = append(env, kv.Key+"="+kv.Value)
		}
	}
	return env
}

func TestDockerfileStages(t *testing.T) {
	d := parseDockerfile(t, readRoot(t, "Dockerfile"))

	// The frontend that parses the file runs at build time too: pinned like
	// a base image.
	syntax, _, _, ok := parser.ParseDirective("syntax", d.raw)
	if !ok || !regexp.MustCompile(`^docker/dockerfile:\d+\.\d+@sha256:[0-9a-f]{64}$`).MatchString(syntax) {
		t.Errorf("# syntax = %q, want docker/dockerfile:<major.minor>@sha256:<digest>", syntax)
	}

	var names []string
	for _, s := range d.stages {
		names = append(names, s.Name)
	}
	if want := []string{stageAssets, stageBuild, stageRuntime}; !slices.Equal(names, want) {
		t.Fatalf("stages = %v, want %v", names, want)
	}

	goVersion := goModVersion(t)
	tests := []struct {
		stage    string
		platform string // --platform of the FROM line
		base     *regexp.Regexp
	}{
		// Both build stages run natively on the builder and cross-compile.
		{stageAssets, "$BUILDPLATFORM", regexp.MustCompile(`^node:\d+\.\d+\.\d+-`)},
		// The Go image matches go.mod's go line exactly (GOTOOLCHAIN=local).
		{stageBuild, "$BUILDPLATFORM", regexp.MustCompile(`^golang:` + regexp.QuoteMeta(goVersion) + `-`)},
		// The runtime is the target platform's distroless static, nonroot.
		{stageRuntime, "", regexp.MustCompile(`^gcr\.io/distroless/static-debian\d+:nonroot@`)},
	}
	for _, tt := range tests {
		t.Run(tt.stage, func(t *testing.T) {
			s := d.stage(t, tt.stage)
			if s.Platform != tt.platform {
				t.Errorf("FROM --platform = %q, want %q", s.Platform, tt.platform)
			}
			base := d.base(s)
			if !pinnedImage.MatchString(base) {
				t.Errorf("base image %q (FROM %s) is not pinned as name:tag@sha256:<digest>", base, s.BaseName)
			}
			if !tt.base.MatchString(base) {
				t.Errorf("base image %q does not match %s", base, tt.base)
			}
		})
	}
}

// goModVersion is the go directive of go.mod.
func goModVersion(t testing.TB) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(readRoot(t, "go.mod"))
	if m == nil {
		t.Fatal("go.mod has no go line")
	}
	return string(m[1])
}

func TestDockerfileAssetsStage(t *testing.T) {
	d := parseDockerfile(t, readRoot(t, "Dockerfile"))
	assets := d.stage(t, stageAssets)

	var ci string
	for _, r := range commands[*instructions.RunCommand](assets) {
		if line := strings.Join(r.CmdLine, " "); strings.Contains(line, "npm ci") {
			ci = line
		}
	}
	if ci == "" || !strings.Contains(ci, "--omit=dev") {
		t.Errorf("the assets stage must install with `npm ci --omit=dev`, got %q", ci)
	}

	// htmx must be a production dependency in the lock file, or --omit=dev
	// leaves it out and the COPY below fails.
	var lock struct {
		Packages map[string]struct {
			Version string `json:"version"`
			Dev     bool   `json:"dev"`
		} `json:"packages"`
	}
	if err := json.Unmarshal(readRoot(t, "package-lock.json"), &lock); err != nil {
		t.Fatalf("package-lock.json: %v", err)
	}
	htmx, ok := lock.Packages["node_modules/htmx.org"]
	if !ok || htmx.Dev || !strings.HasPrefix(htmx.Version, "2.0.") {
		t.Errorf("package-lock.json must pin htmx.org 2.0.x as a production dependency, got %+v (present: %v)", htmx, ok)
	}

	build := d.stage(t, stageBuild)
	var copied bool
	for _, c := range commands[*instructions.CopyCommand](build) {
		if c.From != stageAssets {
			continue
		}
		copied = true
		if want := []string{"/src/node_modules/htmx.org/dist/htmx.min.js"}; !slices.Equal(c.SourcePaths, want) {
			t.Errorf("COPY --from=assets sources = %v, want %v", c.SourcePaths, want)
		}
		const dest = "blog/internal/web/static/htmx.min.js"
		if c.DestPath != dest {
			t.Errorf("htmx is copied to %q, want %q (the embedded static folder)", c.DestPath, dest)
		}
		if _, err := os.Stat(rootPath(filepath.Dir(dest))); err != nil {
			t.Errorf("the embedded static folder of the blog is missing: %v", err)
		}
	}
	if !copied {
		t.Error("the build stage never copies htmx from the assets stage")
	}
}

func TestDockerfileBuildStage(t *testing.T) {
	d := parseDockerfile(t, readRoot(t, "Dockerfile"))
	build := d.stage(t, stageBuild)

	var args []string
	for _, a := range commands[*instructions.ArgCommand](build) {
		for _, kv := range a.Args {
			args = append(args, kv.Key)
		}
	}
	for _, want := range []string{"TARGETOS", "TARGETARCH", "VERSION", "COMMIT"} {
		if !slices.Contains(args, want) {
			t.Errorf("the build stage does not declare ARG %s (declared: %v)", want, args)
		}
	}
	if env := stageEnv(build); !slices.Contains(env, "CGO_ENABLED=0") {
		t.Errorf("the build stage must set ENV CGO_ENABLED=0, has %v", env)
	}

	run := goBuildRun(t, build)
	line := strings.Join(run.CmdLine, " ")
	for _, want := range []string{
		"GOOS=$TARGETOS", "GOARCH=$TARGETARCH", "-trimpath",
		`-ldflags "-s -w -X main.version=$VERSION -X main.commit=$COMMIT"`, "./blog",
	} {
		if !strings.Contains(line, want) {
			t.Errorf("the go build line lacks %s:\n%s", want, line)
		}
	}

	var caches []string
	for _, m := range instructions.GetMounts(run) {
		if m.Type == instructions.MountTypeCache {
			caches = append(caches, m.Target)
		}
	}
	for _, want := range []string{"/go/pkg/mod", "/root/.cache/go-build"} {
		if !slices.Contains(caches, want) {
			t.Errorf("go build does not mount a cache at %s (cache mounts: %v)", want, caches)
		}
	}
}

func TestDockerfileRuntimeStage(t *testing.T) {
	d := parseDockerfile(t, readRoot(t, "Dockerfile"))
	rt := d.stage(t, stageRuntime)

	// Metadata and files only: nothing runs in, and nothing is added to,
	// an image that has no shell.
	allowed := []string{"arg", "label", "copy", "env", "user", "volume", "expose", "healthcheck", "entrypoint", "cmd"}
	for _, c := range rt.Commands {
		if !slices.Contains(allowed, strings.ToLower(c.Name())) {
			t.Errorf("the runtime stage has %s; only %v belong there", strings.ToUpper(c.Name()), allowed)
		}
	}
	// One volume, the scratch space a Fargate task mounts writable under
	// its read-only root (stack/infra/service.go); data never lives in
	// the container.
	var volumes []string
	for _, v := range commands[*instructions.VolumeCommand](rt) {
		volumes = append(volumes, v.Volumes...)
	}
	if !slices.Equal(volumes, []string{"/tmp"}) {
		t.Errorf("VOLUME %v, want only /tmp", volumes)
	}
	for _, c := range commands[*instructions.CopyCommand](rt) {
		if c.From != stageBuild {
			t.Errorf("the runtime stage copies %v from %q; only the build stage's output belongs there", c.SourcePaths, c.From)
		}
	}

	hc := commands[*instructions.HealthCheckCommand](rt)
	if len(hc) != 1 {
		t.Fatalf("want one HEALTHCHECK, have %d", len(hc))
	}
	if want := []string{"CMD", "/blog", "healthcheck"}; !slices.Equal(hc[0].Health.Test, want) {
		t.Errorf("HEALTHCHECK test = %q, want exec form %q (no shell in the image)", hc[0].Health.Test, want)
	}

	execForm := []struct {
		name string
		cmds []instructions.ShellDependantCmdLine
		want []string
	}{
		{"ENTRYPOINT", cmdLines(commands[*instructions.EntrypointCommand](rt)), []string{"/blog"}},
		{"CMD", cmdLines(commands[*instructions.CmdCommand](rt)), []string{"serve"}},
	}
	for _, tt := range execForm {
		if len(tt.cmds) != 1 {
			t.Errorf("want one %s, have %d", tt.name, len(tt.cmds))
			continue
		}
		if c := tt.cmds[0]; c.PrependShell || !slices.Equal(c.CmdLine, tt.want) {
			t.Errorf("%s = %q (shell form: %v), want exec form %q", tt.name, c.CmdLine, c.PrependShell, tt.want)
		}
	}

	users := commands[*instructions.UserCommand](rt)
	if len(users) == 0 || !slices.Contains([]string{"65532", "65532:65532", "nonroot", "nonroot:nonroot"}, users[len(users)-1].User) {
		t.Errorf("the runtime stage must end as USER 65532 (distroless nonroot), has %v", users)
	}

	labels := map[string]string{}
	for _, l := range commands[*instructions.LabelCommand](rt) {
		for _, kv := range l.Labels {
			labels[kv.Key] = kv.Value
		}
	}
	for _, k := range []string{"title", "description", "source", "version", "revision"} {
		if labels["org.opencontainers.image."+k] == "" {
			t.Errorf("missing OCI label org.opencontainers.image.%s", k)
		}
	}
}

func cmdLines[T interface {
	*instructions.EntrypointCommand | *instructions.CmdCommand
}](cs []T) []instructions.ShellDependantCmdLine {
	var out []instructions.ShellDependantCmdLine
	for _, c := range cs {
		switch c := any(c).(type) {
		case *instructions.EntrypointCommand:
			out = append(out, c.ShellDependantCmdLine)
		case *instructions.CmdCommand:
			out = append(out, c.ShellDependantCmdLine)
		}
	}
	return out
}

// fakeResolver answers BuildKit's base-image lookups without a registry, so
// that the linter runs here: every image is a one-layer image of the
// requested platform.
type fakeResolver struct{}

func (fakeResolver) ResolveImageConfig(_ context.Context, ref string, opt sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	p := ocispecs.Platform{OS: "linux", Architecture: runtime.GOARCH}
	if opt.ImageOpt != nil && opt.ImageOpt.Platform != nil {
		p = *opt.ImageOpt.Platform
	}
	cfg, err := json.Marshal(ocispecs.Image{
		Platform: p,
		RootFS:   ocispecs.RootFS{Type: "layers", DiffIDs: []digest.Digest{digest.FromString(ref)}},
	})
	return ref, digest.FromBytes(cfg), cfg, err
}

// lintDockerfile runs BuildKit's Dockerfile checks (what `docker build
// --check` runs) and returns one line per finding.
func lintDockerfile(t testing.TB, raw []byte) []string {
	t.Helper()
	src := llb.NewSourceMap(nil, "Dockerfile", "Dockerfile", raw)
	src.Definition = &llb.Definition{}
	res, err := dockerfile2llb.DockerfileLint(context.Background(), raw, dockerfile2llb.ConvertOpt{
		MetaResolver: fakeResolver{},
		SourceMap:    src,
	})
	if err != nil {
		t.Fatalf("linting: %v", err)
	}
	var out []string
	for _, w := range res.Warnings {
		line := 0
		if w.Location != nil && len(w.Location.Ranges) > 0 {
			line = int(w.Location.Ranges[0].Start.Line)
		}
		out = append(out, fmt.Sprintf("line %d: %s: %s", line, w.RuleName, w.Detail))
	}
	if res.Error != nil {
		out = append(out, "error: "+res.Error.Message)
	}
	return out
}

func TestDockerfileLint(t *testing.T) {
	// The linter must see problems where there are some, or a clean result
	// below would prove nothing.
	bad := "FROM alpine:3 as base\nfrom base\nENV A 1\nCMD echo $UNDEFINED\n"
	if got := lintDockerfile(t, []byte(bad)); len(got) < 3 {
		t.Fatalf("the linter found %d problems in a bad Dockerfile, want at least 3: %v", len(got), got)
	}

	raw := readRoot(t, "Dockerfile")
	if !regexp.MustCompile(`(?m)^# check=error=true$`).Match(raw) {
		t.Error("the Dockerfile must start with `# check=error=true` so that docker build fails on these findings too")
	}
	for _, w := range lintDockerfile(t, raw) {
		t.Errorf("Dockerfile %s", w)
	}
}

func TestDockerignore(t *testing.T) {
	f, err := os.Open(rootPath(".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		t.Fatalf(".dockerignore: %v", err)
	}
	tests := []struct {
		path string
		sent bool // part of the build context
	}{
		{"go.mod", true},
		{"go.sum", true},
		{"package.json", true},
		{"package-lock.json", true},
		{"blog/main.go", true},
		{"blog/internal/views/page_templ.go", true},
		{".git/config", false},
		{"node_modules/htmx.org/dist/htmx.min.js", false},
		{"blog/internal/web/static/htmx.min.js", false}, // comes from the assets stage
		{"data/blog.db", false},
		{"stack/main.go", false},
		{"Pulumi.prod.yaml", false},
		{".env", false},
		{"blog/internal/store/post_test.go", false},
		{"Dockerfile", false},
	}
	for _, tt := range tests {
		excluded, err := pm.MatchesOrParentMatches(tt.path)
		if err != nil {
			t.Fatal(err)
		}
		if sent := !excluded; sent != tt.sent {
			t.Errorf("%s: in the build context = %v, want %v", tt.path, sent, tt.sent)
		}
	}
}

// checkStatic asserts that bin runs on distroless static: no dynamic
// loader, no shared library, no symbol table, built without cgo.
func checkStatic(t *testing.T, bin string) {
	t.Helper()
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary has a dynamic loader (PT_INTERP); distroless static has no libc")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the binary links shared libraries %v", libs)
	}
	if f.Section(".symtab") != nil {
		t.Error("the binary has a symbol table; -ldflags -s strips it")
	}

	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	for k, want := range map[string]string{"CGO_ENABLED": "0", "-trimpath": "true", "GOOS": "linux"} {
		if settings[k] != want {
			t.Errorf("build setting %s = %q, want %q", k, settings[k], want)
		}
	}
}

// checkSize estimates the image (the binary on distroless static) and holds
// it to the limit.
func checkSize(t *testing.T, bin string) {
	t.Helper()
	st, err := os.Stat(bin)
	if err != nil {
		t.Fatal(err)
	}
	estimate := st.Size() + distrolessStaticBytes
	t.Logf("binary %.1f MB; image estimate (binary + distroless static) %.1f MB, limit %.0f MB",
		float64(st.Size())/1e6, float64(estimate)/1e6, maxImageBytes/1e6)
	if estimate >= maxImageBytes {
		t.Errorf("the image would be about %.1f MB, over the %.0f MB limit: trim the blog's dependencies", float64(estimate)/1e6, maxImageBytes/1e6)
	}
}

// buildAsDockerfile builds the blog to out with the command line, ENV and
// build arguments of the Dockerfile's build stage, for linux/goarch.
func buildAsDockerfile(ctx context.Context, out, goarch string) error {
	raw, err := os.ReadFile(rootPath("Dockerfile"))
	if err != nil {
		return err
	}
	res, err := parser.Parse(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	stages, _, err := instructions.Parse(res.AST, nil)
	if err != nil {
		return err
	}
	var build *instructions.Stage
	for i := range stages {
		if stages[i].Name == stageBuild {
			build = &stages[i]
		}
	}
	if build == nil {
		return fmt.Errorf("no %q stage", stageBuild)
	}
	var run *instructions.RunCommand
	for _, r := range commands[*instructions.RunCommand](*build) {
		if strings.Contains(strings.Join(r.CmdLine, " "), "go build") {
			run = r
		}
	}
	if run == nil {
		return fmt.Errorf("no go build in the %q stage", stageBuild)
	}

	// What buildx passes: the target platform and the pipeline's build args.
	env := append(stageEnv(*build), "TARGETOS=linux", "TARGETARCH="+goarch, "VERSION="+testVersion, "COMMIT="+testCommit)
	words, err := shell.NewLex(res.EscapeToken).ProcessWords(strings.Join(run.CmdLine, " "), shell.EnvsFromSlice(env))
	if err != nil {
		return err
	}
	// Leading NAME=value words are the command's environment.
	cmdEnv := stageEnv(*build)
	for len(words) > 0 && regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`).MatchString(words[0]) {
		cmdEnv = append(cmdEnv, words[0])
		words = words[1:]
	}
	if len(words) < 2 || words[0] != "go" || words[1] != "build" {
		return fmt.Errorf("the RUN line is not a plain go build: %q", words)
	}
	o := slices.Index(words, "-o")
	if o < 0 || o+1 >= len(words) {
		return fmt.Errorf("go build has no -o: %q", words)
	}
	words[o+1] = out

	cmd := exec.CommandContext(ctx, "go", words[1:]...)
	cmd.Dir = root // the Dockerfile's WORKDIR holds the whole context
	cmd.Env = append(baseEnv(), cmdEnv...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %v\n%s", strings.Join(words, " "), err, b)
	}
	return nil
}

func TestBlogBinaryAsBuilt(t *testing.T) {
	bin := blogBinary(t)

	t.Run("static and stripped", func(t *testing.T) { checkStatic(t, bin) })
	t.Run("size", func(t *testing.T) { checkSize(t, bin) })

	// Graviton hosts run the arm64 image: the same command line must
	// cross-compile it without cgo.
	t.Run("linux/arm64", func(t *testing.T) {
		if runtime.GOARCH == "arm64" {
			t.Skip("the native build above is the arm64 one")
		}
		arm := filepath.Join(t.TempDir(), "blog")
		if err := buildAsDockerfile(context.Background(), arm, "arm64"); err != nil {
			t.Fatalf("cross-compiling for arm64: %v", err)
		}
		f, err := elf.Open(arm)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if f.Machine != elf.EM_AARCH64 {
			t.Errorf("machine = %s, want %s", f.Machine, elf.EM_AARCH64)
		}
		checkStatic(t, arm)
		checkSize(t, arm)
	})

	t.Run("version", func(t *testing.T) {
		out, err := exec.Command(bin, "version").CombinedOutput()
		if err != nil {
			t.Fatalf("blog version: %v\n%s", err, out)
		}
		if got, want := strings.TrimSpace(string(out)), "blog "+testVersion+" "+testCommit; got != want {
			t.Errorf("blog version = %q, want %q (stamped with -ldflags -X)", got, want)
		}
	})

	t.Run("healthcheck", func(t *testing.T) {
		srv := startBlog(t, "BLOG_SHUTDOWN_DELAY=3s")
		healthcheck := func(addr string) error {
			cmd := exec.Command(bin, "healthcheck")
			cmd.Env = append(baseEnv(), "BLOG_ADDR="+addr, "BLOG_DATA_DIR="+t.TempDir())
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Logf("blog healthcheck against %s: %s: %s", addr, errExit(err), out)
			}
			return err
		}
		if err := healthcheck(srv.addr); err != nil {
			t.Errorf("healthcheck against a ready server: %s, want exit status 0", errExit(err))
		}
		// The same port as the image: the healthcheck dials 127.0.0.1 at the
		// port of BLOG_ADDR, whatever host BLOG_ADDR names.
		if port := srv.addr[strings.LastIndex(srv.addr, ":"):]; healthcheck(port) != nil {
			t.Errorf("healthcheck with BLOG_ADDR=%s (as in the image, :8080) failed", port)
		}
		if err := healthcheck(fmt.Sprintf("127.0.0.1:%d", freePort(t))); err == nil {
			t.Error("healthcheck against a port nobody listens on exited 0")
		}

		// Draining: after SIGTERM the server still serves but is no longer
		// ready, so Docker and Caddy stop sending it traffic.
		if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		waitStatus(t, http.DefaultClient, srv.url+"/readyz", http.StatusServiceUnavailable, 2*time.Second, srv.done)
		if err := healthcheck(srv.addr); err == nil {
			t.Error("healthcheck exited 0 while the server was draining")
		}
		select {
		case <-srv.done:
		case <-time.After(25 * time.Second):
			t.Error("the server did not exit within 25s of SIGTERM (compose's stop_grace_period is 30s)")
		}
	})
}
