# confsync: see README.md. `make demo` runs the main job, `make test` runs
# every test.
GO        ?= go
GOBIN     ?= $(shell $(GO) env GOPATH)/bin
STATICCHECK_VERSION ?= v0.8.2
BIN       := bin

.PHONY: all build test test-deps check bench demo demo-graph fuzz clean image release

all: build

# What confsync version prints, from git; the go command's own VCS stamping
# is off where GOFLAGS has -buildvcs=false or the build runs outside the
# repository. An empty VERSION leaves it to go.mod's build information.
VERSION       ?= $(shell git describe --tags --dirty 2>/dev/null)
REVISION      ?= $(shell git rev-parse HEAD 2>/dev/null)
REVISION_TIME ?= $(shell git log -1 --format=%cI 2>/dev/null)
MODIFIED      ?= $(shell git status --porcelain --untracked-files=no 2>/dev/null | grep -q . && echo true)
LDFLAGS       := -X main.version=$(VERSION) -X main.revision=$(REVISION) -X main.revisionTime=$(REVISION_TIME) -X main.modified=$(MODIFIED)

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/ ./cmd/...

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
## A count, not a duration: with a duration, Go 1.26's fuzz coordinator can
## fail a target with a bare "context deadline exceeded" as the time runs
## out under load (golang/go#75804, fixed in Go 1.27); a count never
## arms that deadline. 5000 inputs a target: all 26 in 70 s on 2 cores.
FUZZTIME ?= 5000x
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

## Versions stamped into image and release builds (main.version) and the
## time recorded in the image: both from git, so one commit gives one
## image digest.
RELEASE_VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
RELEASE_REVISION  ?= $(shell git rev-parse HEAD 2>/dev/null)
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
RELEASE_LDFLAGS   := -s -w -buildid= -X main.version=$(RELEASE_VERSION) -X main.revision=$(RELEASE_REVISION) -X main.revisionTime=$(REVISION_TIME)

## image: the container image as an OCI layout in a tar archive, built
## without a container daemon (cmd/confsync-image): a static binary, CA
## certificates, user 65532, a /data volume, `confsync serve` as the
## entrypoint. Load it with `docker load -i`, `podman load -i` or
## `skopeo copy oci-archive:...`.
IMAGE_ARCH ?= $(shell $(GO) env GOARCH)
IMAGE_CA   ?= /etc/ssl/certs/ca-certificates.crt
IMAGE      ?= $(BIN)/confsync-image.tar
image:
	CGO_ENABLED=0 GOOS=linux GOARCH=$(IMAGE_ARCH) $(GO) build -trimpath -ldflags "$(RELEASE_LDFLAGS)" -o $(BIN)/image/confsync ./cmd/confsync
	$(GO) run ./cmd/confsync-image -binary $(BIN)/image/confsync -ca-bundle $(IMAGE_CA) -arch $(IMAGE_ARCH) \
	  -version $(RELEASE_VERSION) -revision "$(RELEASE_REVISION)" -epoch $(SOURCE_DATE_EPOCH) -out $(IMAGE)

## release: static binaries for each platform, version stamped, and their
## SHA-256 checksums, in $(RELEASE_DIR).
RELEASE_PLATFORMS ?= linux/amd64 linux/arm64 darwin/arm64 windows/amd64
RELEASE_DIR       ?= $(BIN)/release
release:
	@set -e; rm -rf $(RELEASE_DIR); mkdir -p $(RELEASE_DIR); \
	for p in $(RELEASE_PLATFORMS); do \
	  os=$${p%/*}; arch=$${p#*/}; ext=; [ "$$os" = windows ] && ext=.exe; \
	  out=$(RELEASE_DIR)/confsync_$(RELEASE_VERSION)_$${os}_$${arch}$$ext; \
	  echo "build $$out"; \
	  CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags "$(RELEASE_LDFLAGS)" -o $$out ./cmd/confsync; \
	done; \
	cd $(RELEASE_DIR) && if command -v sha256sum >/dev/null; then sha256sum confsync_*; else shasum -a 256 confsync_*; fi > SHA256SUMS
	@cat $(RELEASE_DIR)/SHA256SUMS

clean:
	rm -rf $(BIN)
