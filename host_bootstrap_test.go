package blogstack

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// host/bootstrap runs here against the fakes of host_test.go, plus these,
// which only bootstrap drives: rpm answers from what fake dnf installed, and
// mount can be made to fail.
var bootstrapFakes = map[string]string{
	"rpm": `
echo "rpm $*" >>"$FAKE_DIR/calls.log"
[[ -f $FAKE_DIR/installed ]]`,
	"dnf": `
echo "dnf $*" >>"$FAKE_DIR/calls.log"
[[ -z ${FAKE_FAIL_DNF:-} ]] || { echo "Curl error (28): Timeout was reached" >&2; exit 1; }
touch "$FAKE_DIR/installed"`,
	"mount": `
echo "mount $*" >>"$FAKE_DIR/calls.log"
[[ -z ${FAKE_FAIL_MOUNT:-} ]] || { echo "mount: $1: can't find in /etc/fstab." >&2; exit 32; }
echo "$1" >>"$FAKE_DIR/mounted"`,
}

const volumeID = "vol-0123456789abcdef0"

// bootstrapHost is a fresh host with the bootstrap fakes on PATH.
func bootstrapHost(t *testing.T) *host {
	t.Helper()
	h := newHost(t)
	for name, body := range bootstrapFakes {
		script := "#!/usr/bin/env bash\nset -euo pipefail\n" + body + "\n"
		if err := os.WriteFile(filepath.Join(h.dir, "bin", name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

// attachVolume makes the EBS volume's by-id link appear, as udev does.
func (h *host) attachVolume(id string) {
	h.t.Helper()
	dev := h.path("dev/nvme1n1")
	if err := os.WriteFile(dev, nil, 0o600); err != nil {
		h.t.Fatal(err)
	}
	link := h.path("dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_" + strings.ReplaceAll(id, "-", ""))
	if err := os.Symlink(dev, link); err != nil {
		h.t.Fatal(err)
	}
}

// installScript puts host/bootstrap where user-data writes it.
func (h *host) installScript() {
	h.t.Helper()
	b, err := os.ReadFile("host/bootstrap")
	if err != nil {
		h.t.Fatal(err)
	}
	h.write("opt/blog/host/bootstrap", string(b))
	if err := os.Chmod(h.path("opt/blog/host/bootstrap"), 0o755); err != nil {
		h.t.Fatal(err)
	}
}

func (h *host) fstabLine() string {
	return "UUID=0b9c7a1e-4f1d-4a57-9f3c-1d2e3f4a5b6c " + h.path("srv/blog") + " xfs defaults,noatime,nofail,x-systemd.device-timeout=5min 0 2\n"
}

const dockerDropIn = "etc/systemd/system/docker.service.d/blog-data-volume.conf"

func TestBootstrapNewVolumeFormatsAndMountsByUUID(t *testing.T) {
	h := bootstrapHost(t)
	h.attachVolume(volumeID)
	out, ok := h.run("bootstrap", nil, volumeID)
	mustOK(t, out, ok)
	calls := h.calls()

	for _, want := range []string{
		"dnf install -y docker amazon-ecr-credential-helper amazon-cloudwatch-agent",
		"systemctl enable --now amazon-ssm-agent",
		"mkfs -t xfs -L blogdata " + h.path("dev/nvme1n1"),
		"systemctl daemon-reload",
		"mount " + h.path("srv/blog"),
		"systemctl enable --now docker",
	} {
		if len(matching(calls, want)) != 1 {
			t.Errorf("want exactly one %q in calls:\n%s", want, strings.Join(calls, "\n"))
		}
	}
	// systemd learns of the fstab line and Docker's drop-in before the
	// mount, and Docker starts only once the volume is mounted.
	inOrder(t, calls, "mkfs", "systemctl daemon-reload", "mount "+h.path("srv/blog"), "systemctl enable --now docker")
	if fstab := h.read("etc/fstab"); fstab != h.fstabLine() {
		t.Errorf("fstab = %q, want %q", fstab, h.fstabLine())
	}
	dropIn := h.read(dockerDropIn)
	for _, want := range []string{"\n[Unit]\n", "\nRequiresMountsFor=" + h.path("srv/blog") + "\n", "\nAssertPathIsMountPoint=" + h.path("srv/blog") + "\n"} {
		if !strings.Contains(dropIn, want) {
			t.Errorf("docker drop-in lacks %q:\n%s", want, dropIn)
		}
	}
	if got := h.read("usr/local/lib/docker/cli-plugins/docker-compose"); got != fakeCompose {
		t.Errorf("compose plugin = %q, want the verified download", got)
	}
	for _, dir := range []string{"srv/blog/postgres", "srv/blog/caddy/data", "srv/blog/caddy/config"} {
		if fi, err := os.Stat(h.path(dir)); err != nil || !fi.IsDir() {
			t.Errorf("%s not created: %v", dir, err)
		}
	}
	if _, err := os.Stat(h.path("var/lib/blog/bootstrapped")); err != nil {
		t.Errorf("bootstrapped marker missing: %v", err)
	}
}

func TestBootstrapExistingVolumeIsNeverFormatted(t *testing.T) {
	h := bootstrapHost(t)
	h.attachVolume(volumeID)
	h.write("../fake/fstype", "xfs\n")
	out, ok := h.run("bootstrap", nil, volumeID)
	mustOK(t, out, ok)
	calls := h.calls()
	if m := matching(calls, "mkfs"); len(m) != 0 {
		t.Fatalf("formatted a volume that has a filesystem: %v", m)
	}
	if len(matching(calls, "mount "+h.path("srv/blog"))) != 1 {
		t.Errorf("existing volume not mounted: %v", calls)
	}
}

func TestBootstrapRefusesVolumeItCannotRead(t *testing.T) {
	h := bootstrapHost(t)
	h.attachVolume(volumeID)
	out, ok := h.run("bootstrap", []string{"FAKE_BLKID_EXIT=8"}, volumeID)
	mustFail(t, out, ok, "refusing to touch the data volume")
	if m := matching(h.calls(), "mkfs"); len(m) != 0 {
		t.Fatalf("formatted after blkid failed: %v", m)
	}
}

func TestBootstrapTwiceChangesNothing(t *testing.T) {
	h := bootstrapHost(t)
	h.attachVolume(volumeID)
	out, ok := h.run("bootstrap", nil, volumeID)
	mustOK(t, out, ok)
	h.calls()
	fstab, dropIn := h.read("etc/fstab"), h.read(dockerDropIn)

	// What every later boot does: no download, no format, no reload.
	out, ok = h.run("bootstrap", nil, volumeID)
	mustOK(t, out, ok)
	calls := h.calls()
	for _, never := range []string{"dnf ", "curl ", "mkfs", "mount ", "daemon-reload"} {
		if m := matching(calls, never); len(m) != 0 {
			t.Errorf("second run called %q again: %v", never, m)
		}
	}
	if got := h.read("etc/fstab"); got != fstab {
		t.Errorf("second run changed fstab:\n%s\nwas:\n%s", got, fstab)
	}
	if got := h.read(dockerDropIn); got != dropIn {
		t.Errorf("second run changed the docker drop-in")
	}
}

func TestBootstrapRejectsComposeWithWrongChecksum(t *testing.T) {
	h := bootstrapHost(t)
	h.attachVolume(volumeID)
	out, ok := h.run("bootstrap", []string{"FAKE_DOWNLOAD=tampered"}, volumeID)
	mustFail(t, out, ok, "does not match its pinned sha256")
	if _, err := os.Stat(h.path("usr/local/lib/docker/cli-plugins/docker-compose")); err == nil {
		t.Fatal("installed a download whose checksum did not match")
	}
}

func TestBootstrapFailsWhenVolumeNeverAttaches(t *testing.T) {
	h := bootstrapHost(t)
	out, ok := h.run("bootstrap", []string{"BLOG_DEVICE_WAIT=1"}, volumeID)
	mustFail(t, out, ok, "data volume "+volumeID+" is not attached")
	if m := matching(h.calls(), "mkfs"); len(m) != 0 {
		t.Fatalf("formatted something: %v", m)
	}
}

// A failed package download fails the run and leaves the host unmarked;
// the next run (blog-bootstrap.service restarts it) finishes the job.
func TestBootstrapFailedDownloadSucceedsWhenRunAgain(t *testing.T) {
	h := bootstrapHost(t)
	h.attachVolume(volumeID)
	out, ok := h.run("bootstrap", []string{"FAKE_FAIL_DNF=1"}, volumeID)
	mustFail(t, out, ok, "Timeout was reached")
	if m := matching(h.calls(), "systemctl enable --now docker"); len(m) != 0 {
		t.Errorf("started docker after a failed install: %v", m)
	}
	if _, err := os.Stat(h.path("var/lib/blog/bootstrapped")); err == nil {
		t.Fatal("marked bootstrapped after a failed install")
	}
	out, ok = h.run("bootstrap", nil, volumeID)
	mustOK(t, out, ok)
	if len(matching(h.calls(), "dnf install")) != 1 {
		t.Error("second run did not install the packages")
	}
	if _, err := os.Stat(h.path("var/lib/blog/bootstrapped")); err != nil {
		t.Errorf("not marked bootstrapped after the retry: %v", err)
	}
}

// When the volume cannot be mounted nothing is created in the mount point
// (it would be on the root disk) and Docker is not started.
func TestBootstrapUnmountedVolumeStartsNothing(t *testing.T) {
	h := bootstrapHost(t)
	h.attachVolume(volumeID)
	out, ok := h.run("bootstrap", []string{"FAKE_FAIL_MOUNT=1"}, volumeID)
	mustFail(t, out, ok, "can't find in /etc/fstab")
	if _, err := os.Stat(h.path("srv/blog/postgres")); err == nil {
		t.Error("created srv/blog/postgres on the root disk")
	}
	if m := matching(h.calls(), "systemctl enable --now docker"); len(m) != 0 {
		t.Errorf("started docker without the volume: %v", m)
	}
}

// A run started by hand while the service runs waits for it (two runs at
// once could both see a blank volume).
func TestBootstrapRunsOneAtATime(t *testing.T) {
	h := bootstrapHost(t)
	h.attachVolume(volumeID)
	lock := h.path("var/lib/blog/bootstrap.lock")
	h.write("var/lib/blog/bootstrap.lock", "")
	holder := holdLock(t, lock)

	cmd := h.command("bootstrap", nil, volumeID)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if calls, _ := os.ReadFile(filepath.Join(h.fake, "calls.log")); len(calls) != 0 {
		t.Errorf("ran while another run held the lock:\n%s", calls)
	}
	_ = holder.Process.Kill()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("bootstrap after the other run: %v\n%s", err, out.String())
	}
	if len(matching(h.calls(), "systemctl enable --now docker")) != 1 {
		t.Error("the waiting run did not finish the job")
	}
}

// holdLock takes the flock lock on path in another process, as a running
// script would, until the test ends or the process is killed.
func holdLock(t *testing.T, path string) *exec.Cmd {
	t.Helper()
	// exec: the killed process is the one holding the lock.
	holder := exec.Command("bash", "-c", `exec 9>>"$0"; flock 9; exec sleep 30`, path)
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = holder.Process.Kill(); _ = holder.Wait() })
	for i := 0; i < 250 && exec.Command("flock", "-n", path, "true").Run() == nil; i++ {
		time.Sleep(20 * time.Millisecond)
	}
	return holder
}

// A host bootstrapped by an earlier release has a line with other options
// for the volume; it is replaced, every other line kept.
func TestBootstrapUpdatesAnOlderFstabLine(t *testing.T) {
	h := bootstrapHost(t)
	h.attachVolume(volumeID)
	h.write("../fake/fstype", "xfs\n")
	root := "UUID=11111111-2222-3333-4444-555555555555     /           xfs    defaults,noatime  1   1\n"
	h.write("etc/fstab", root+"UUID=0b9c7a1e-4f1d-4a57-9f3c-1d2e3f4a5b6c "+h.path("srv/blog")+" xfs defaults,nofail,noatime 0 2\n")
	h.write("../fake/mounted", h.path("srv/blog")+"\n")
	// The drop-in is current: the fstab line alone must reload systemd.
	out, ok := h.run("bootstrap", nil, volumeID)
	mustOK(t, out, ok)
	h.write("etc/fstab", root+"UUID=0b9c7a1e-4f1d-4a57-9f3c-1d2e3f4a5b6c "+h.path("srv/blog")+" xfs defaults,nofail,noatime 0 2\n")
	h.calls()
	out, ok = h.run("bootstrap", nil, volumeID)
	mustOK(t, out, ok)
	if got, want := h.read("etc/fstab"), root+h.fstabLine(); got != want {
		t.Errorf("fstab =\n%s\nwant\n%s", got, want)
	}
	calls := h.calls()
	inOrder(t, calls, "systemctl daemon-reload", "systemctl enable --now docker")
	if m := matching(calls, "mount "); len(m) != 0 {
		t.Errorf("mounted an already mounted volume: %v", m)
	}
}

// --install (what user-data runs) writes blog-bootstrap.service and starts
// it without waiting; it does none of the work itself.
func TestBootstrapInstallHandsOverToSystemd(t *testing.T) {
	h := bootstrapHost(t)
	out, ok := h.run("bootstrap", nil, "--install", volumeID)
	mustFail(t, out, ok, "bootstrap is missing or not executable")

	h.installScript()
	out, ok = h.run("bootstrap", nil, "--install", volumeID)
	mustOK(t, out, ok)
	calls := h.calls()
	want := []string{
		"systemctl daemon-reload",
		"systemctl enable blog-bootstrap.service",
		"systemctl start --no-block blog-bootstrap.service",
	}
	if got := matching(calls, "systemctl"); !slices.Equal(got, want) {
		t.Errorf("systemctl calls = %q, want %q", got, want)
	}
	for _, never := range []string{"dnf", "rpm", "curl", "blkid", "mkfs", "mount"} {
		if m := matching(calls, never); len(m) != 0 {
			t.Errorf("--install ran %v itself", m)
		}
	}
	unit := h.read("etc/systemd/system/blog-bootstrap.service")
	for _, line := range []string{
		"ExecStart=" + h.path("opt/blog/host/bootstrap") + " " + volumeID,
		"Type=oneshot", "Restart=on-failure", "RestartSec=30s", "StartLimitIntervalSec=0",
		"WantedBy=multi-user.target",
	} {
		if !slices.Contains(strings.Split(unit, "\n"), line) {
			t.Errorf("blog-bootstrap.service lacks the line %q:\n%s", line, unit)
		}
	}

	for _, bad := range [][]string{{"--install"}, {"--install", "vol-1;reboot"}, {"vol-1", "vol-2"}, {"--reinstall", volumeID}} {
		out, ok := h.run("bootstrap", nil, bad...)
		mustFail(t, out, ok, "usage: bootstrap [--install] <ebs-volume-id>")
	}
}

// The units bootstrap writes, read by systemd itself: systemd-fstab-generator
// turns the fstab line into the mount unit as at boot, and
// systemd-analyze verify loads it with Docker's drop-in, the bootstrap
// service and stand-ins for Amazon Linux's docker.service and docker.socket.
// Its debug dump is systemd's own parsed view of each unit (what systemctl
// show gives on a running host), which the ordering is checked on.
func TestBootstrapUnitsVerifiedBySystemd(t *testing.T) {
	sd := needSystemd(t)
	h := bootstrapHost(t)
	h.attachVolume(volumeID)
	h.installScript()
	out, ok := h.run("bootstrap", nil, "--install", volumeID)
	mustOK(t, out, ok)
	out, ok = h.run("bootstrap", nil, volumeID)
	mustOK(t, out, ok)

	units := sd.load(t, h, nil)
	if problems := units.bootOrderProblems(); len(problems) > 0 {
		t.Errorf("the units bootstrap writes do not keep Docker behind the data volume:\n%s", strings.Join(problems, "\n"))
	}

	// The checks above fail when the drop-in is missing or orders wrongly,
	// or when docker.socket is made to wait for the mount.
	writeDropIn := func(content string) func(etc string) error {
		return func(etc string) error {
			return os.WriteFile(filepath.Join(etc, "docker.service.d", "blog-data-volume.conf"), []byte(content), 0o644)
		}
	}
	for name, change := range map[string]func(etc string) error{
		"no drop-in": func(etc string) error {
			return os.Remove(filepath.Join(etc, "docker.service.d", "blog-data-volume.conf"))
		},
		"no ordering":     writeDropIn("[Unit]\nRequires=" + units.mount + "\nAssertPathIsMountPoint=" + units.data + "\n"),
		"ordered before":  writeDropIn("[Unit]\nRequires=" + units.mount + "\nBefore=" + units.mount + "\nAssertPathIsMountPoint=" + units.data + "\n"),
		"only wanted":     writeDropIn("[Unit]\nWants=" + units.mount + "\nAfter=" + units.mount + "\nAssertPathIsMountPoint=" + units.data + "\n"),
		"no assert":       writeDropIn("[Unit]\nRequiresMountsFor=" + units.data + "\n"),
		"misspelled keys": writeDropIn("[Unit]\nRequiresMountFor=" + units.data + "\nAssertPathIsMountPoint=" + units.data + "\n"),
		"socket waits for the mount": func(etc string) error {
			if err := os.MkdirAll(filepath.Join(etc, "docker.socket.d"), 0o755); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(etc, "docker.socket.d", "data.conf"), []byte("[Unit]\nRequiresMountsFor="+units.data+"\n"), 0o644)
		},
	} {
		t.Run(name, func(t *testing.T) {
			problems := sd.load(t, h, change).bootOrderProblems()
			t.Logf("problems found:\n%s", strings.Join(problems, "\n"))
			if len(problems) == 0 {
				t.Error("the check passes units that let Docker start without the volume or hold back the boot")
			}
		})
	}
}

// systemd is where systemd's tools are on this machine.
type systemd struct {
	analyze, escape, fstabGenerator, unitDir string
}

// needSystemd finds systemd-analyze and friends, or skips; under CI it fails.
func needSystemd(t *testing.T) systemd {
	t.Helper()
	var sd systemd
	var err error
	sd.analyze, err = exec.LookPath("systemd-analyze")
	if err == nil {
		sd.escape, err = exec.LookPath("systemd-escape")
	}
	if err == nil {
		sd.fstabGenerator = firstExisting("/usr/lib/systemd/system-generators/systemd-fstab-generator", "/lib/systemd/system-generators/systemd-fstab-generator")
		sd.unitDir = filepath.Dir(firstExisting("/usr/lib/systemd/system/sysinit.target", "/lib/systemd/system/sysinit.target"))
		if sd.fstabGenerator == "" || sd.unitDir == "." {
			err = errors.New("no systemd-fstab-generator or system units")
		}
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("systemd-analyze is needed to verify the host's units (%v); CI must install it (apt-get install -y systemd)", err)
		}
		t.Skipf("systemd-analyze not installed (apt-get install -y systemd); CI fails here instead: %v", err)
	}
	return sd
}

func firstExisting(paths ...string) string {
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// Amazon Linux 2023's docker.service and docker.socket as far as ordering
// goes (docker 25 package); ExecStart is a stand-in binary that exists here.
const (
	dockerService = `[Unit]
Description=Docker Application Container Engine
Documentation=https://docs.docker.com
After=network-online.target docker.socket firewalld.service containerd.service time-set.target
Wants=network-online.target containerd.service
Requires=docker.socket

[Service]
Type=notify
ExecStart=/bin/true
ExecReload=/bin/kill -s HUP $MAINPID
TimeoutStartSec=0
RestartSec=2
Restart=always

[Install]
WantedBy=multi-user.target
`
	dockerSocket = `[Unit]
Description=Docker Socket for the API

[Socket]
ListenStream=/run/docker.sock
SocketMode=0660
SocketUser=root
SocketGroup=docker

[Install]
WantedBy=sockets.target
`
)

// loadedUnits is systemd's view of the host's units.
type loadedUnits struct {
	dump                 map[string]map[string][]string // unit -> key -> values
	warnings             []string                       // what systemd-analyze verify said of our units
	data, mount, device  string
	deviceTimeoutDropIn  string
	bootstrapServiceFile string
}

// load runs the fstab generator on the host's fstab and systemd-analyze
// verify on the units bootstrap wrote; a non-nil change is first given the
// directory of (a copy of) those units to change.
func (sd systemd) load(t *testing.T, h *host, change func(etc string) error) loadedUnits {
	t.Helper()
	dir := t.TempDir()
	etc := filepath.Join(dir, "etc")
	if err := os.CopyFS(etc, os.DirFS(h.path("etc/systemd/system"))); err != nil {
		t.Fatal(err)
	}
	if change != nil {
		if err := change(etc); err != nil {
			t.Fatal(err)
		}
	}
	gen, standIns := filepath.Join(dir, "generator"), filepath.Join(dir, "standins")
	for _, d := range []string{gen, gen + ".early", gen + ".late", standIns} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, body := range map[string]string{"docker.service": dockerService, "docker.socket": dockerSocket} {
		if err := os.WriteFile(filepath.Join(standIns, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(sd.fstabGenerator, gen, gen+".early", gen+".late")
	cmd.Env = append(os.Environ(), "SYSTEMD_FSTAB="+h.path("etc/fstab"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("systemd-fstab-generator: %v\n%s", err, out)
	}

	u := loadedUnits{data: h.path("srv/blog"), bootstrapServiceFile: filepath.Join(etc, "blog-bootstrap.service")}
	u.mount = sd.escapePath(t, "mount", u.data)
	u.device = sd.escapePath(t, "device", "/dev/disk/by-uuid/0b9c7a1e-4f1d-4a57-9f3c-1d2e3f4a5b6c")
	u.deviceTimeoutDropIn = filepath.Join(gen, u.device+".d", "50-device-timeout.conf")

	// Our units first, then the generated ones, the stand-ins, and the
	// distribution's own (sysinit.target and the like); not this machine's
	// /etc, whose drop-ins are not the host's.
	unitPath := strings.Join([]string{etc, gen, standIns, sd.unitDir}, ":")
	names := []string{"docker.service", "docker.socket", "blog-bootstrap.service", u.mount}
	run := func(level string) (stdout, stderr string) {
		cmd := exec.Command(sd.analyze, append([]string{"verify", "--man=no"}, names...)...)
		cmd.Env = append(os.Environ(), "SYSTEMD_UNIT_PATH="+unitPath, "SYSTEMD_LOG_LEVEL="+level)
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		if err := cmd.Run(); err != nil {
			u.warnings = append(u.warnings, fmt.Sprintf("systemd-analyze verify: %v\n%s", err, e.String()))
		}
		return o.String(), e.String()
	}
	// Warnings and errors about our units, or files in our directories, are
	// failures: systemd ignores an unknown key or a bad value with a warning
	// and runs the unit without it.
	_, warnings := run("warning")
	for _, line := range strings.Split(warnings, "\n") {
		if strings.Contains(line, dir) || strings.Contains(line, h.dir) || slices.ContainsFunc(names, func(n string) bool { return strings.Contains(line, n) }) {
			u.warnings = append(u.warnings, line)
		}
	}
	dump, _ := run("debug")
	u.dump = parseUnitDump(dump)
	return u
}

func (sd systemd) escapePath(t *testing.T, suffix, path string) string {
	t.Helper()
	out, err := exec.Command(sd.escape, "--path", "--suffix="+suffix, path).Output()
	if err != nil {
		t.Fatalf("systemd-escape %s: %v", path, err)
	}
	return strings.TrimSpace(string(out))
}

// parseUnitDump reads the unit dump systemd-analyze prints at debug level:
// "\t-> Unit NAME:" then "\t\tKey: value" lines.
func parseUnitDump(s string) map[string]map[string][]string {
	units := map[string]map[string][]string{}
	var cur map[string][]string
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if name, ok := strings.CutPrefix(line, "\t-> Unit "); ok {
			cur = map[string][]string{}
			units[strings.TrimSuffix(name, ":")] = cur
			continue
		}
		rest, ok := strings.CutPrefix(line, "\t\t")
		if !ok || cur == nil || strings.HasPrefix(rest, "\t") {
			continue
		}
		if k, v, ok := strings.Cut(rest, ": "); ok {
			cur[k] = append(cur[k], v)
		}
	}
	return units
}

// deps are the units of dependency kind of unit, without systemd's
// "(origin-...)" notes.
func (u loadedUnits) deps(unit, kind string) []string {
	var out []string
	for _, v := range u.dump[unit][kind] {
		name, _, _ := strings.Cut(v, " (")
		out = append(out, name)
	}
	return out
}

func (u loadedUnits) value(unit, key string) string {
	return strings.Join(u.dump[unit][key], " ")
}

// bootOrderProblems lists what would let Docker start without the data
// volume, or hold back the boot for it.
func (u loadedUnits) bootOrderProblems() []string {
	problems := append([]string{}, u.warnings...)
	check := func(ok bool, format string, args ...any) {
		if !ok {
			problems = append(problems, fmt.Sprintf(format, args...))
		}
	}
	for _, unit := range []string{"docker.service", "docker.socket", "blog-bootstrap.service", u.mount} {
		check(u.value(unit, "Unit Load State") == "loaded", "%s is not loaded (%q)", unit, u.value(unit, "Unit Load State"))
	}

	// Docker requires the mount and starts after it, whoever starts it.
	check(slices.Contains(u.deps("docker.service", "Requires"), u.mount) || slices.Contains(u.deps("docker.service", "BindsTo"), u.mount),
		"docker.service does not require %s: a failed mount would not stop it (Requires: %v)", u.mount, u.deps("docker.service", "Requires"))
	check(slices.Contains(u.deps("docker.service", "After"), u.mount),
		"docker.service is not ordered after %s: it could start before the volume is mounted (After: %v)", u.mount, u.deps("docker.service", "After"))
	check(u.value("docker.service", "AssertPathIsMountPoint") == u.data+" untested",
		"docker.service does not assert %s is a mount point (got %q)", u.data, u.value("docker.service", "AssertPathIsMountPoint"))
	// The socket only triggers the service; ordered after the mount it
	// would hold back sockets.target, the boot and the SSM agent.
	check(!slices.Contains(u.deps("docker.socket", "After"), u.mount), "docker.socket waits for %s and would hold back the boot", u.mount)
	check(slices.Contains(u.deps("docker.socket", "Triggers"), "docker.service"), "docker.socket does not trigger docker.service")

	// The mount: the volume by UUID, and a boot that neither waits for nor
	// fails without it (nofail: not before local-fs.target), with a device
	// timeout of its own.
	check(u.value(u.mount, "Where") == u.data, "%s mounts %q, want %q", u.mount, u.value(u.mount, "Where"), u.data)
	check(u.value(u.mount, "What") == "/dev/disk/by-uuid/0b9c7a1e-4f1d-4a57-9f3c-1d2e3f4a5b6c", "%s mounts %q, not the volume by UUID", u.mount, u.value(u.mount, "What"))
	check(slices.Contains(strings.Split(u.value(u.mount, "Options"), ","), "nofail"), "%s is not nofail (options %q)", u.mount, u.value(u.mount, "Options"))
	check(!slices.Contains(u.deps(u.mount, "Before"), "local-fs.target"), "%s is ordered before local-fs.target: the boot would wait for (and fail without) the volume", u.mount)
	check(slices.Contains(u.deps(u.mount, "Requires"), u.device) || slices.Contains(u.deps(u.mount, "BindsTo"), u.device), "%s does not need its device %s", u.mount, u.device)
	timeout, _ := os.ReadFile(u.deviceTimeoutDropIn)
	check(bytes.Contains(timeout, []byte("\nJobRunningTimeoutSec=5min\n")), "no 5min device timeout for %s (generated drop-in: %q)", u.device, timeout)

	// The bootstrap service: retried without limit until it succeeds, and
	// pulled in at every boot.
	b := "blog-bootstrap.service"
	check(u.value(b, "Type") == "oneshot", "%s Type %q, want oneshot", b, u.value(b, "Type"))
	check(u.value(b, "Restart") == "on-failure", "%s Restart %q, want on-failure", b, u.value(b, "Restart"))
	check(u.value(b, "RestartSec") == "30s", "%s RestartSec %q, want 30s", b, u.value(b, "RestartSec"))
	check(slices.Contains(u.deps(b, "After"), "network-online.target"), "%s does not wait for the network", b)
	check(!slices.Contains(u.deps("docker.service", "After"), b), "docker.service waits for %s: a failing bootstrap would keep the blog down", b)
	unit, _ := os.ReadFile(u.bootstrapServiceFile)
	check(regexp.MustCompile(`(?m)^StartLimitIntervalSec=0$`).Match(unit), "%s has a start limit: systemd would give up retrying", b)
	check(regexp.MustCompile(`(?m)^WantedBy=multi-user.target$`).Match(unit), "%s does not run at every boot", b)
	return problems
}

// readmeSection is the README's section under heading, up to the next
// heading of the same or a higher level.
func readmeSection(t *testing.T, heading string) string {
	t.Helper()
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "\n"+heading+"\n")
	if !ok {
		t.Fatalf("README.md has no %q", heading)
	}
	level := strings.Fields(heading)[0] // "###"
	end := regexp.MustCompile(`(?m)^#{1,` + fmt.Sprint(len(level)) + `} `).FindStringIndex(rest)
	if end != nil {
		rest = rest[:end[0]]
	}
	return rest
}

// codeBlocks are the ```sh blocks of a markdown text, each dedented by its
// fence's indentation (blocks inside list items are indented).
func codeBlocks(s string) []string {
	var blocks []string
	for _, m := range regexp.MustCompile("(?ms)^( *)```sh\n(.*?)^ *```\n").FindAllStringSubmatch(s, -1) {
		var lines []string
		for _, l := range strings.SplitAfter(m[2], "\n") {
			lines = append(lines, strings.TrimPrefix(l, m[1]))
		}
		blocks = append(blocks, strings.Join(lines, ""))
	}
	return blocks
}

// The README's runbook for patching the host, run as written against a fake
// dnf: patch.sh (sent through SSM) upgrades to the release, asks SSM for a
// reboot with exit 194 only when dnf says one is needed, succeeds on the run
// after that reboot, reboots at most once per release, fails on a dnf error,
// and waits for (then refuses during) a deploy, backup or restore. The send
// step delivers patch.sh byte for byte as AWS-RunShellScript's command.
func TestPatchRunbook(t *testing.T) {
	section := readmeSection(t, "### Patching the host")
	blocks := codeBlocks(section)
	if len(blocks) != 3 {
		t.Fatalf("want 3 sh blocks (patch.sh, send it, check afterwards) in the section, got %d", len(blocks))
	}
	patch, send, check := blocks[0], blocks[1], blocks[2]
	for _, want := range []string{"dnf upgrade -y --releasever=", "dnf needs-restarting -r", "exit 194", "/run/lock/blog-deploy.lock", "flock -w 1800 9"} {
		if !strings.Contains(patch, want) {
			t.Fatalf("patch.sh lacks %q:\n%s", want, patch)
		}
	}
	release := regexp.MustCompile(`(?m)^release=(\S+)$`).FindStringSubmatch(patch)
	if release == nil {
		t.Fatalf("patch.sh sets no release:\n%s", patch)
	}
	if shellcheck, err := exec.LookPath("shellcheck"); err == nil {
		cmd := exec.Command(shellcheck, "--shell=bash", "-")
		cmd.Stdin = strings.NewReader(patch)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("shellcheck patch.sh:\n%s", out)
		}
	}
	for _, b := range []string{send, check} {
		if out, err := exec.Command("bash", "-n", "-c", b).CombinedOutput(); err != nil {
			t.Errorf("bash -n:\n%s\n%s", out, b)
		}
	}
	// The check names the units bootstrap writes and uses.
	for _, unit := range []string{"srv-blog.mount", "docker", "blog-bootstrap"} {
		if !strings.Contains(check, unit) {
			t.Errorf("the check afterwards does not look at %s", unit)
		}
	}

	dir := t.TempDir()
	bin, state, lock := filepath.Join(dir, "bin"), filepath.Join(dir, "state"), filepath.Join(dir, "deploy.lock")
	for _, d := range []string{bin, state} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	fakeDNF := `#!/usr/bin/env bash
echo "dnf $*" >>"$FAKE_LOG"
case $1 in
  upgrade) [[ -z ${FAKE_FAIL_DNF:-} ]] || { echo "Error: Failed to download metadata for repo 'amazonlinux'" >&2; exit 1; } ;;
  needs-restarting) exit "${FAKE_NEEDS_RESTARTING:-0}" ;;
esac`
	if err := os.WriteFile(filepath.Join(bin, "dnf"), []byte(fakeDNF), 0o755); err != nil {
		t.Fatal(err)
	}
	script := strings.NewReplacer("/run/lock/blog-deploy.lock", lock, "/var/lib/blog/", state+"/", "flock -w 1800", "flock -w 1").Replace(patch)
	logFile := filepath.Join(dir, "calls.log")
	runPatch := func(env ...string) (string, int, []string) {
		t.Helper()
		_ = os.Remove(logFile)
		cmd := exec.Command("bash", "-c", script)
		cmd.Env = append(os.Environ(), append([]string{"PATH=" + bin + ":" + os.Getenv("PATH"), "FAKE_LOG=" + logFile}, env...)...)
		out, err := cmd.CombinedOutput()
		code := 0
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			code = exit.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		calls, _ := os.ReadFile(logFile)
		return string(out), code, strings.Fields(strings.ReplaceAll(string(calls), " ", "_"))
	}
	upgrade := "dnf_upgrade_-y_--releasever=" + release[1]

	out, code, calls := runPatch("FAKE_NEEDS_RESTARTING=0")
	if code != 0 || !slices.Equal(calls, []string{upgrade, "dnf_needs-restarting_-r"}) {
		t.Errorf("no reboot needed: exit %d, calls %v, want 0 and an upgrade:\n%s", code, calls, out)
	}

	out, code, calls = runPatch("FAKE_FAIL_DNF=1", "FAKE_NEEDS_RESTARTING=1")
	if code == 0 || code == 194 || !strings.Contains(out, "Failed to download metadata") {
		t.Errorf("failed upgrade: exit %d, want a failure that is not a reboot:\n%s", code, out)
	}

	// needs-restarting always answering 1 (as a missing plugin would) gives
	// one reboot, not a reboot loop.
	out, code, _ = runPatch("FAKE_NEEDS_RESTARTING=1")
	if code != 194 {
		t.Errorf("reboot needed: exit %d, want 194 (SSM reboots, then runs the script again):\n%s", code, out)
	}
	out, code, calls = runPatch("FAKE_NEEDS_RESTARTING=1")
	if code != 0 || len(calls) != 0 || !strings.Contains(out, "rebooted") {
		t.Errorf("run after the reboot: exit %d, calls %v, want 0 and nothing done:\n%s", code, calls, out)
	}

	// A deploy, backup or restore holds the lock: nothing is changed.
	if err := os.RemoveAll(state); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(state, 0o755); err != nil {
		t.Fatal(err)
	}
	holdLock(t, lock)
	out, code, calls = runPatch("FAKE_NEEDS_RESTARTING=1")
	if code != 1 || len(calls) != 0 || !strings.Contains(out, "nothing changed") {
		t.Errorf("during a deploy: exit %d, calls %v, want 1 and no dnf:\n%s", code, calls, out)
	}

	// The send step, with fakes of pulumi and aws and the real jq: the
	// command SSM runs is patch.sh, byte for byte.
	if _, err := exec.LookPath("jq"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("jq is not installed; CI must install it (apt-get install -y jq)")
		}
		t.Skip("jq not installed (apt-get install -y jq); CI fails here instead")
	}
	fakes := map[string]string{
		"pulumi": `echo i-0123456789abcdef0`,
		"aws":    `printf '%s\n' "$@" >>"$FAKE_DIR/aws-$2.args"; [[ $2 != send-command ]] || echo 0b5c8f2e-command-id`,
	}
	for name, body := range fakes {
		if err := os.WriteFile(filepath.Join(bin, name), []byte("#!/usr/bin/env bash\nset -euo pipefail\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "patch.sh"), []byte(patch), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", send)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "FAKE_DIR="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("send step: %v\n%s", err, out)
	}
	args, err := os.ReadFile(filepath.Join(dir, "aws-send-command.args"))
	if err != nil {
		t.Fatal(err)
	}
	_, params, ok := strings.Cut(string(args), "--parameters\n")
	if !ok {
		t.Fatalf("send-command has no --parameters:\n%s", args)
	}
	var p struct {
		Commands         []string `json:"commands"`
		ExecutionTimeout []string `json:"executionTimeout"`
	}
	dec := json.NewDecoder(strings.NewReader(params))
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("--parameters is not JSON: %v\n%s", err, params)
	}
	if len(p.Commands) != 1 || p.Commands[0] != patch {
		t.Errorf("SSM would run %q, not patch.sh", p.Commands)
	}
	for _, want := range []string{"--instance-ids\ni-0123456789abcdef0\n", "--document-name\nAWS-RunShellScript\n"} {
		if !strings.Contains(string(args), want) {
			t.Errorf("send-command lacks %q:\n%s", want, args)
		}
	}
	if got, err := os.ReadFile(filepath.Join(dir, "aws-get-command-invocation.args")); err != nil || !bytes.Contains(got, []byte("--command-id\n0b5c8f2e-command-id\n")) {
		t.Errorf("the result is not asked for the command sent: %s %v", got, err)
	}
}
