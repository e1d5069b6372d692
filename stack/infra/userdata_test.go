package infra_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/blogstack/blogstack/stack/infra"
)

// The user-data, run for real in a temporary root with a fake systemctl:
// it writes host/bootstrap byte for byte and hands it to systemd as a
// service that is retried, without waiting for it and without doing any of
// the work (no download that could fail once and never be retried).
func TestUserDataHandsBootstrapToSystemd(t *testing.T) {
	bootstrap, err := os.ReadFile("../../host/bootstrap")
	if err != nil {
		t.Fatal(err)
	}
	const volume = "vol-0123456789abcdef0"
	ud := infra.UserData(bootstrap, volume)
	t.Logf("user-data: %d bytes, %d under EC2's limit", len(ud), infra.MaxUserData-len(ud))
	if len(ud) > infra.MaxUserData {
		t.Fatalf("user-data is %d bytes, EC2 allows %d", len(ud), infra.MaxUserData)
	}
	if !strings.HasSuffix(ud, "\nexec /opt/blog/host/bootstrap --install '"+volume+"'\n") {
		t.Errorf("user-data does not end by installing the bootstrap service for %s:\n%s", volume, ud)
	}

	dir := t.TempDir()
	bin, root := filepath.Join(dir, "bin"), filepath.Join(dir, "root")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tool := range []string{"systemctl", "dnf", "curl", "mkfs", "mount", "blkid"} {
		fake := "#!/bin/sh\necho \"" + tool + " $*\" >>\"" + filepath.Join(dir, "calls.log") + "\"\n"
		if err := os.WriteFile(filepath.Join(bin, tool), []byte(fake), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("bash", "-c", strings.ReplaceAll(ud, "/opt/blog/", root+"/opt/blog/"))
	cmd.Env = append(os.Environ(),
		"PATH="+bin+":"+os.Getenv("PATH"),
		"BLOG_ROOT="+root+"/opt/blog",
		"BLOG_SYSTEMD="+root+"/etc/systemd/system",
	)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("user-data failed: %v\n%s", err, out)
	}

	script := filepath.Join(root, "opt/blog/host/bootstrap")
	got, err := os.ReadFile(script)
	if err != nil || string(got) != string(bootstrap) {
		t.Fatalf("user-data did not write host/bootstrap byte for byte (%v)", err)
	}
	if fi, _ := os.Stat(script); fi.Mode().Perm() != 0o755 {
		t.Errorf("bootstrap mode %v, want 0755", fi.Mode().Perm())
	}
	unit, err := os.ReadFile(filepath.Join(root, "etc/systemd/system/blog-bootstrap.service"))
	if err != nil {
		t.Fatalf("no blog-bootstrap.service: %v", err)
	}
	lines := strings.Split(string(unit), "\n")
	for _, want := range []string{"ExecStart=" + script + " " + volume, "Restart=on-failure", "StartLimitIntervalSec=0", "WantedBy=multi-user.target"} {
		if !slices.Contains(lines, want) {
			t.Errorf("blog-bootstrap.service lacks %q:\n%s", want, unit)
		}
	}
	calls, _ := os.ReadFile(filepath.Join(dir, "calls.log"))
	want := "systemctl daemon-reload\nsystemctl enable blog-bootstrap.service\nsystemctl start --no-block blog-bootstrap.service\n"
	if string(calls) != want {
		t.Errorf("user-data ran:\n%swant only:\n%s", calls, want)
	}
}

// The same inputs give the same user-data, and another volume changes only
// the last line: nothing in it varies from run to run.
func TestUserDataIsStable(t *testing.T) {
	bootstrap, err := os.ReadFile("../../host/bootstrap")
	if err != nil {
		t.Fatal(err)
	}
	a, b := infra.UserData(bootstrap, "vol-0a"), infra.UserData(bootstrap, "vol-0a")
	if a != b {
		t.Fatal("user-data differs between two calls with the same inputs")
	}
	c := infra.UserData(bootstrap, "vol-0b")
	la, lc := strings.Split(a, "\n"), strings.Split(c, "\n")
	n := len(la) - 2 // the last line is empty after the final newline
	if len(la) != len(lc) || !slices.Equal(la[:n], lc[:n]) || la[n] == lc[n] {
		t.Errorf("another volume changes more than the last line:\n%s\n---\n%s", a, c)
	}
}
