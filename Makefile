# ringmetrics — see README.md. Every target builds what it needs.
SHELL := /bin/bash
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo v0.0.0-dev)
# Kubernetes' version parsers want semver: an untagged build is v0.1.0-<sha>.
GIT_VERSION := $(if $(filter v%,$(VERSION)),$(VERSION),v0.1.0-$(VERSION))
LDFLAGS := -X k8s.io/component-base/version.gitVersion=$(GIT_VERSION) \
	-X k8s.io/component-base/version.gitCommit=$(shell git rev-parse HEAD 2>/dev/null) \
	-X k8s.io/component-base/version.gitTreeState=clean
BIN := $(CURDIR)/bin
E2E_TIMEOUT ?= 45m

.PHONY: all build build-static tools test unit e2e vet demo bench-go clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/ringmetrics ./cmd/ringmetrics

# The same static, trimmed build the Dockerfile runs.
build-static:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w $(LDFLAGS)" -o $(BIN)/ringmetrics-static ./cmd/ringmetrics

# Pinned kube-apiserver, kube-controller-manager, etcd and metrics-server,
# built once from the Go module proxy into $$HOME/.cache/ringmetrics/bin.
tools:
	hack/tools.sh >/dev/null

vet:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...

unit:
	$(GO) test -count=1 ./pkg/... ./cmd/...

# End-to-end tests drive real binaries; one package at a time so two control
# planes do not fight over the machine's two cores.
e2e: tools build
	RINGMETRICS_BIN=$$(hack/tools.sh --print) RINGMETRICS_BINARY=$(BIN)/ringmetrics \
		$(GO) test -count=1 -p 1 -timeout $(E2E_TIMEOUT) ./test/...

test: vet unit e2e

demo: tools build
	RINGMETRICS_BIN=$$(hack/tools.sh --print) $(GO) run ./test/cmd/demo -ringmetrics $(BIN)/ringmetrics $(DEMO_ARGS)

bench-go:
	$(GO) test -run '^$$' -bench . -benchmem ./pkg/...

clean:
	rm -rf $(BIN)
