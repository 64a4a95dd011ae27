# ringmetrics — see README.md. Every target builds what it needs.
SHELL := /bin/bash
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo v0.0.0-dev)
# Kubernetes' version parsers want semver: an untagged build is v0.1.0-<sha>.
GIT_VERSION := $(if $(filter v%,$(VERSION)),$(VERSION),v0.1.0-$(VERSION))
# The Dockerfile builds without .git and passes both in.
GIT_COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS := -X k8s.io/component-base/version.gitVersion=$(GIT_VERSION) \
	-X k8s.io/component-base/version.gitCommit=$(GIT_COMMIT) \
	-X k8s.io/component-base/version.gitTreeState=clean
BIN := $(CURDIR)/bin
E2E_TIMEOUT ?= 45m

.PHONY: all build build-static image manifests tools test unit e2e vet demo bench bench-go soak clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/ringmetrics ./cmd/ringmetrics

# The same static, trimmed build the Dockerfile runs (test/install checks
# the result: no dynamic loader, version stamped, no local paths).
build-static:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w $(LDFLAGS)" -o $(BIN)/ringmetrics-static ./cmd/ringmetrics

# The container image (needs a Docker engine; nothing else here does).
IMAGE ?= ghcr.io/ringmetrics/ringmetrics:$(GIT_VERSION)
image:
	docker build --build-arg VERSION=$(VERSION) --build-arg GIT_COMMIT=$(GIT_COMMIT) -t $(IMAGE) .

# Regenerates manifests/components.yaml, manifests/high-availability.yaml and
# manifests/daemonset.yaml from charts/ringmetrics; test/install fails when
# they drift.
manifests: tools
	RINGMETRICS_BIN=$$(hack/tools.sh --print) $(GO) test -count=1 -run '^TestManifestsUpToDate$$' ./test/install -args -update

# Pinned kube-apiserver, kube-controller-manager, kubectl 1.37, etcd,
# metrics-server, helm and the VPA recommender, built once from the Go module
# proxy, and Prometheus with promtool, unpacked from Debian's package (as
# root, apt-get update runs first if apt's lists lack it), all into
# $$HOME/.cache/ringmetrics/bin.
tools:
	hack/tools.sh >/dev/null

vet:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	@$(GO) mod tidy -diff || { echo "go.mod/go.sum are not tidy: run go mod tidy"; exit 1; }
	@for m in test/tools/*/; do (cd $$m && $(GO) mod tidy -diff) || { echo "$$m go.mod/go.sum are not tidy: run go mod tidy there"; exit 1; }; done
	@bad=$$($(GO) list -deps -test ./pkg/... ./cmd/... | grep '/ringmetrics/test/'); if [ -n "$$bad" ]; then echo "pkg/ or cmd/ (tests included) imports test/: $$bad"; exit 1; fi

# ./pkg/... runs under the race detector (scrape loops, store readers and
# writers, the API's pooled buffers all run concurrently); it replaces a plain
# run rather than repeating it. -race needs cgo, so a C compiler (gcc).
# Every benchmark then runs once, for what it checks, not its figures: one
# that no longer runs fails here rather than on the day someone measures
# (BenchmarkFastListHandler once panicked for a day unnoticed).
unit:
	CGO_ENABLED=1 $(GO) test -race -count=1 ./pkg/...
	$(GO) test -count=1 ./cmd/...
	$(GO) test -count=1 -run '^$$' -bench . -benchtime 1x ./pkg/... ./cmd/...

# End-to-end tests drive real binaries; one package at a time so two control
# planes do not fight over the machine's two cores.
e2e: tools build
	RINGMETRICS_BIN=$$(hack/tools.sh --print) RINGMETRICS_BINARY=$(BIN)/ringmetrics \
		$(GO) test -count=1 -p 1 -timeout $(E2E_TIMEOUT) ./test/...

test: vet unit e2e

demo: tools build
	RINGMETRICS_BIN=$$(hack/tools.sh --print) $(GO) run ./test/cmd/demo -ringmetrics $(BIN)/ringmetrics $(DEMO_ARGS)

# Side by side with metrics-server on the test bed, one bed per scale
# (nodes × 30 pods, 15s), plus ringmetrics alone at 1s on BENCH_FAST nodes
# and with full rings (240 points a series, the default hour's) on
# BENCH_FULL nodes.
# Writes docs/benchmarks/RESULTS.md, scaling.svg, results.json and profiles/.
# Takes about 80 minutes at the default scales (73 at SCALES=1000,5000).
SCALES ?= 100,1000,5000
BENCH_FAST ?= 500
BENCH_FULL ?= 1000
bench: tools build
	RINGMETRICS_BIN=$$(hack/tools.sh --print) $(GO) run ./test/cmd/bench -ringmetrics $(BIN)/ringmetrics \
		-scales $(SCALES) -fast $(BENCH_FAST) -full "$(BENCH_FULL)" -out docs/benchmarks \
		-command "make bench SCALES=$(SCALES) BENCH_FAST=$(BENCH_FAST) BENCH_FULL=$(BENCH_FULL)"

# ringmetrics alone under sustained load, then overload (test/soak): SOAK_ARGS
# default to 1 000 nodes × 30 pods at 15s for 10 minutes plus 2 minutes of
# overload (about 15–20 minutes with the bed). Writes docs/benchmarks/SOAK.md
# and fails when a criterion is broken.
SOAK_ARGS ?= -nodes 1000 -pods 30 -duration 10m
soak: tools build
	RINGMETRICS_BIN=$$(hack/tools.sh --print) $(GO) run ./test/cmd/soak -ringmetrics $(BIN)/ringmetrics \
		-out docs/benchmarks $(SOAK_ARGS) -command "make soak SOAK_ARGS='$(SOAK_ARGS)'"

bench-go:
	$(GO) test -run '^$$' -bench . -benchmem ./pkg/...

clean:
	rm -rf $(BIN)
