# confsync: see README.md. `make demo` runs the main job, `make test` runs
# every test.
GO        ?= go
GOBIN     ?= $(shell $(GO) env GOPATH)/bin
STATICCHECK_VERSION ?= v0.8.2
BIN       := bin

.PHONY: all build test test-deps check bench demo demo-graph fuzz clean

all: build

build:
	$(GO) build -o $(BIN)/ ./cmd/...

## test: every test, race detector on, plus a short run of each fuzz target.
test: test-deps
	$(GO) test -race -count=1 -timeout 40m ./...
	$(MAKE) fuzz

## test-deps: newman (pinned by its lockfile) for the SCIM conformance test.
NEWMAN_DIR := providers/scim/testdata/newman
test-deps:
	@if [ -f $(NEWMAN_DIR)/package-lock.json ] && [ ! -x $(NEWMAN_DIR)/node_modules/.bin/newman ]; then \
	  npm ci --prefix $(NEWMAN_DIR) --no-audit --no-fund; fi

## fuzz: a short run of every fuzz target (FUZZTIME to lengthen it).
FUZZTIME ?= 10s
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$t"; \
	    $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

## check: formatting, vet and staticcheck.
check:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); echo 'gofmt: files above need formatting'; exit 1)
	$(GO) vet ./...
	@test -x $(GOBIN)/staticcheck || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	$(GOBIN)/staticcheck ./...

## bench: every benchmark; figures are recorded in docs/benchmarks.md.
BENCHTIME ?= 1x
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) -timeout 60m ./...

## demo: the main job on the embedded defaults: the Confluence emulator and
## confsync serve on SQLite in a temporary directory, Entra-style SCIM
## provisioning, plan, apply, and what Confluence holds afterwards.
demo: build
	$(BIN)/confsync-demo -bin $(BIN)

## demo-graph: the same company read from an emulated Entra ID through
## Microsoft Graph (a graph { } IdP) instead of pushed over SCIM.
demo-graph: build
	$(BIN)/confsync-demo -graph -bin $(BIN)

clean:
	rm -rf $(BIN)
