# The blog and everything that runs it. On a fresh machine with Go, git and
# make: `make run` serves the blog with demo content, `make test` runs every
# test. Node.js, PostgreSQL and Chromium are used when present; without them
# the targets say so in one line and do without (with CI set, that fails).

SHELL := /bin/bash
GO    ?= go

export TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test?sslmode=disable

HTMX_SRC := node_modules/htmx.org/dist/htmx.min.js
HTMX_DST := blog/internal/web/static/htmx.min.js
VIEWS    := blog/internal/views

.PHONY: run test test-engine assets generate check-generated vet bench bench-go screenshots help

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/'

run: assets ## serve the blog on BLOG_ADDR (default :8080), SQLite, demo content on first run
	@mkdir -p bin
	$(GO) build -o bin/blog ./blog
	bin/blog seed --posts 36 --if-empty
	exec bin/blog serve

test: assets check-generated vet ## every test: Go (PostgreSQL, SQLite, HTTP, browser), generated files, lint
	@if ! (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then \
		echo "PostgreSQL is not answering on 127.0.0.1:5432: its tests are skipped (SQLite still runs)"; fi
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || command -v google-chrome >/dev/null || [ -n "$$CHROME_BIN" ] || \
		echo "Chromium not found: the browser tests are skipped (apt-get install chromium)"
	$(GO) test -count=1 -timeout 30m $$($(GO) list ./... | grep -v '/release/engine$$')
	@$(MAKE) --no-print-directory test-engine

# Alone, after the rest: it needs the machine's two cores for its load
# tests, and -v puts every deploy and each cut-over's request counts in the
# log.
test-engine: ## the deploy path on a real Docker engine (release/engine; .ci/run starts one)
	@if ! docker version >/dev/null 2>&1; then \
		if [ -n "$$CI" ]; then echo "CI is set and no Docker engine answers (.ci/run installs and starts one)" >&2; exit 1; fi; \
		echo "no Docker engine answers: the real-engine tests (release/engine) are skipped (.ci/run starts one)"; exit 0; fi
	$(GO) test -count=1 -timeout 40m -v ./release/engine/

assets: ## copy htmx from node_modules into the embedded static files
	@if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then \
		if command -v npm >/dev/null; then npm ci --no-audit --no-fund --loglevel=error; \
		elif [ -n "$$CI" ]; then echo "CI is set and npm is missing" >&2; exit 1; \
		else echo "npm not found: the blog is built without htmx (every page still works without JavaScript)"; fi; fi
	@if [ -f $(HTMX_SRC) ] && ! cmp -s $(HTMX_SRC) $(HTMX_DST); then cp $(HTMX_SRC) $(HTMX_DST); fi

generate: ## regenerate the templ views
	$(GO) tool templ generate -path $(VIEWS)

check-generated: ## fail when a generated *_templ.go file is stale
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && cp -r $(VIEWS)/. "$$tmp" && \
		$(GO) tool templ generate -log-level error -path "$$tmp" && \
		diff -r -q "$$tmp" $(VIEWS) >/dev/null || { echo "generated views are stale: run make generate and commit" >&2; exit 1; }

vet: ## go vet and gofmt
	@files=$$(find . -name '*.go' -not -path './node_modules/*'); \
		test -z "$$(gofmt -l $$files)" || { gofmt -l $$files; echo "gofmt needed" >&2; exit 1; }
	$(GO) vet ./...

screenshots: assets ## rewrite docs/screenshots: home and a post, light and dark, desktop and phone
	@mkdir -p docs/screenshots
	SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots $(GO) test -count=1 -run '^TestScreenshots$$' ./blog/internal/web/

# A measurement, not a test: it needs the whole machine for about half an
# hour and prints ratios to nginx rather than passing or failing.
BENCH_FLAGS ?=
bench: assets ## the blog against nginx serving its pages, at 1,000 and 10,000 posts (BENCH_FLAGS="-posts 1000 -rounds 1" for a quick look)
	@if ! command -v nginx >/dev/null || ! command -v wrk >/dev/null; then \
		echo "installing nginx and wrk (Debian)"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx wrk >/dev/null; fi
	$(GO) run ./blog/bench -out docs/bench-results.md $(BENCH_FLAGS)

bench-go: ## Go micro-benchmarks with allocations: pages, rendering, the store's hot queries (compare runs with benchstat)
	$(GO) test -run '^$$' -bench . -benchmem -count $${COUNT:-1} ./blog/...
