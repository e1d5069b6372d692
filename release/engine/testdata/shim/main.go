// Command shim stands in for /blog in the test releases that
// release/engine derives from the blog image built from the Dockerfile: it
// runs the real binary (moved to /blog.real) with the release's name in the
// page title (BLOG_TITLE), so a reader's response says which release served
// it, and it breaks one step when BLOG_TEST_BREAK says so:
//
//	migrate        `blog migrate` fails, as a migration with an error would
//	serve-exits    `blog serve` exits at once with status 3
//	never-healthy  `blog serve` runs and answers, but `blog healthcheck`
//	               always fails, so Docker never calls it healthy
//
// Both variables are baked into the derived image (ENV), never set by
// compose, so the compose file and host/deploy run unchanged.
package main

import (
	"fmt"
	"os"
	"strings"
	"syscall"
)

func main() {
	cmd := "serve"
	if len(os.Args) > 1 {
		cmd = os.Args[1]
	}
	release := os.Getenv("BLOG_TEST_RELEASE")
	switch brk := os.Getenv("BLOG_TEST_BREAK"); {
	case brk == "migrate" && cmd == "migrate":
		fmt.Fprintf(os.Stderr, "migration 0099_broken of %s failed: ERROR: division by zero\n", release)
		os.Exit(1)
	case brk == "serve-exits" && cmd == "serve":
		fmt.Fprintf(os.Stderr, "release %s: serve exits at once\n", release)
		os.Exit(3)
	case brk == "never-healthy" && cmd == "healthcheck":
		fmt.Fprintf(os.Stderr, "release %s: never healthy\n", release)
		os.Exit(1)
	}
	env := []string{"BLOG_TITLE=Blog " + release}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BLOG_TITLE=") {
			env = append(env, kv)
		}
	}
	err := syscall.Exec("/blog.real", append([]string{"/blog"}, os.Args[1:]...), env)
	fmt.Fprintln(os.Stderr, "shim:", err)
	os.Exit(127)
}
