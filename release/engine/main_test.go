package engine

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// suite is what TestMain prepared: the images in the test registry, or why
// there are none.
var suite struct {
	set *imageSet
	why string
}

// TestMain finds the engine and the compose plugin, and builds and pushes
// every image once for all scenarios. Without an engine every test skips
// (fails with CI set) with the reason.
func TestMain(m *testing.M) {
	var stop func()
	if why := engineMissing(); why != "" {
		suite.why = why
		fmt.Fprintf(os.Stderr, "engine: %s: the real-engine tests are skipped (fail with CI set)\n", why)
	} else {
		start := time.Now()
		logf := func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
		set, s, err := buildImages(logf)
		if err != nil {
			suite.why = "building the test images failed: " + err.Error()
			fmt.Fprintln(os.Stderr, "engine:", suite.why)
		} else {
			suite.set, stop = set, s
			logf("images: all ready in %s", time.Since(start).Round(100*time.Millisecond))
		}
	}
	code := m.Run()
	if stop != nil {
		stop()
	}
	if suite.set != nil {
		pruneBuildCache()
	}
	if suite.set == nil && os.Getenv("CI") != "" && code == 0 {
		// Every test failed already; this only covers a run with -run
		// matching none.
		code = 1
	}
	os.Exit(code)
}

// engineMissing says why the suite cannot run here, or "".
func engineMissing() string {
	if os.Getenv("BLOG_ENGINE_TESTS") == "off" {
		return "BLOG_ENGINE_TESTS=off"
	}
	if _, err := docker("version", "--format", "{{.Server.Version}}"); err != nil {
		return "no Docker engine answers (docker version: " + firstLine(err.Error()) + ")"
	}
	out, err := docker("compose", "version", "--short")
	if err != nil {
		return "the docker compose plugin is missing (" + firstLine(err.Error()) + ")"
	}
	// v2 or later: v2.40 on an engine older than API 1.44 (Debian's
	// 20.10 here), the production hosts' v5 where the engine is new enough.
	v := strings.TrimPrefix(strings.TrimSpace(out), "v")
	if major, _, _ := strings.Cut(v, "."); major == "" || major == "0" || major == "1" || strings.Trim(major, "0123456789") != "" {
		return "docker compose is " + strings.TrimSpace(out) + "; these tests need v2 or later (see the README)"
	}
	return ""
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}
