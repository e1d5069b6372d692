package engine

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestCutOverUnderLoad: readers keep reading through Caddy while v1 is
// replaced by v2; not one request fails, both releases served some of them,
// and only v2 is left.
func TestCutOverUnderLoad(t *testing.T) {
	h := newHost(t)
	h.deploy("v1")
	l := h.startLoad()
	time.Sleep(2 * time.Second)
	h.deploy("v2")
	time.Sleep(2 * time.Second)
	r := l.mustNotFail("during the cut-over v1 -> v2")
	if r.titles["v1"] == 0 || r.titles["v2"] == 0 {
		t.Errorf("pages served by release: %s; want both v1 (before) and v2 (after)", counts(r.titles))
	}
	h.mustServe("blog-app-2", "v2")
	if got := releaseOf(h.title()); got != "v2" {
		t.Errorf("after the deploy the site serves %s, want v2", got)
	}

	// At boot Docker starts the serving container again: it keeps the
	// alias Caddy dials, and the site serves without a deploy.
	if out, err := docker("restart", "-t", "5", "blog-app-2"); err != nil {
		t.Fatalf("docker restart: %v\n%s", err, out)
	}
	h.mustServe("blog-app-2", "v2")
	if got := releaseOf(h.title()); got != "v2" {
		t.Errorf("after the app restarted the site serves %s, want v2", got)
	}
}

// TestSeveralCutOversInARow: three deploys one after another under one
// load, each with its own counts in the log; none fails, and each leaves one
// app container, the newest.
func TestSeveralCutOversInARow(t *testing.T) {
	h := newHost(t)
	h.deploy("v1")
	prev := "v1"
	for i, tag := range []string{"v2", "v3", "v4"} {
		l := h.startLoad()
		time.Sleep(time.Second)
		h.deploy(tag)
		r := l.mustNotFail(fmt.Sprintf("during cut-over %d, %s -> %s", i+1, prev, tag))
		if r.titles[tag] == 0 {
			t.Errorf("no reader saw %s after its deploy: %s", tag, counts(r.titles))
		}
		h.mustServe(fmt.Sprintf("blog-app-%d", i+2), tag)
		prev = tag
	}
	if got := h.read("var/lib/blog/deploys.log"); strings.Count(got, " ok\n") != 4 {
		t.Errorf("deploy history:\n%s", got)
	}
}

// TestRollback: a rollback is a deploy of the earlier tag, with the same
// cut-over: no failed request, v1 serves again in a new container.
func TestRollback(t *testing.T) {
	h := newHost(t)
	h.deploy("v1")
	h.deploy("v2")
	l := h.startLoad()
	time.Sleep(time.Second)
	out := h.deploy("v1")
	r := l.mustNotFail("during the rollback v2 -> v1")
	if !strings.Contains(out, "(last good: v2)") {
		t.Errorf("the rollback does not say it replaces v2:\n%s", out)
	}
	if r.titles["v1"] == 0 {
		t.Errorf("no reader saw v1 after the rollback: %s", counts(r.titles))
	}
	h.mustServe("blog-app-3", "v1")
}

// The broken releases, and what the deploy must say about each.
var broken = []struct {
	name, tag, reason string
}{
	{"failed migration", "bad-migrate", "bad-migrate: migrations failed for bad-migrate"},
	{"serve exits", "bad-exits", "bad-exits: the new app container's serve exited (exit code 3"},
	{"never healthy", "bad-unhealthy", "bad-unhealthy: the new app container runs but is unhealthy"},
}

// TestBrokenReleaseKeepsTheOldOneServing: each broken release fails its
// deploy with its own reason while readers read; v1 keeps serving every
// request, no reader reaches the broken release, and nothing of it is left
// behind (no container; the alias and the last good tag unchanged).
func TestBrokenReleaseKeepsTheOldOneServing(t *testing.T) {
	h := newHost(t)
	h.deploy("v1")
	parent := h.t
	for _, tc := range broken {
		t.Run(tc.name, func(t *testing.T) {
			h.t = t
			defer func() { h.t = parent }()
			l := h.startLoad()
			time.Sleep(time.Second)
			out := h.deployFails(tc.tag, tc.reason)
			if !strings.Contains(out, "the running release (v1) keeps serving: blog-app-1 was never stopped") {
				t.Errorf("the deploy does not say v1 keeps serving:\n%s", out)
			}
			r := l.mustNotFail("while " + tc.tag + " failed to deploy")
			if r.titles[tc.tag] > 0 {
				t.Errorf("%d readers reached the broken release %s", r.titles[tc.tag], tc.tag)
			}
			h.mustServe("blog-app-1", "v1")
			if got := h.read("var/lib/blog/deploys.log"); !strings.Contains(got, " "+tc.tag+" failed: ") {
				t.Errorf("failure not in the deploy history:\n%s", got)
			}
		})
	}
}

// TestBrokenReleaseWithNoAppRunning: the app has died (stopped), so the
// site is down; a deploy of a broken release fails with its reason and
// brings back the last good release. Readers get errors while nothing runs,
// but not one of them ever reaches the release that never became healthy.
func TestBrokenReleaseWithNoAppRunning(t *testing.T) {
	h := newHost(t)
	h.deploy("v1")
	parent := h.t
	for _, tc := range broken {
		t.Run(tc.name, func(t *testing.T) {
			h.t = t
			defer func() { h.t = parent }()
			for _, c := range h.containers() {
				if strings.HasPrefix(c, "blog-app-") {
					if _, err := docker("stop", "-t", "1", strings.Fields(c)[0]); err != nil {
						t.Fatal(err)
					}
				}
			}
			l := h.startLoad()
			out := h.deployFails(tc.tag, tc.reason)
			if !strings.Contains(out, "no app was running, so v1 was started and is serving") {
				t.Errorf("the deploy does not say it brought v1 back:\n%s", out)
			}
			time.Sleep(time.Second)
			r := l.stop("while " + tc.tag + " failed to deploy with no app running")
			if r.titles[tc.tag] > 0 {
				t.Errorf("%d readers reached %s, which never became healthy", r.titles[tc.tag], tc.tag)
			}
			if got := releaseOf(h.title()); got != "v1" {
				t.Errorf("after the failed deploy the site serves %s, want v1 back", got)
			}
			h.mustServe("blog-app-1", "v1")
		})
	}
}
