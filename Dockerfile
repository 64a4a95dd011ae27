# syntax=docker/dockerfile:1
#
# ringmetrics: one static binary on a distroless, non-root base; no shell.
#
#   docker build --build-arg VERSION=$(git describe --tags --always) \
#     --build-arg GIT_COMMIT=$(git rev-parse HEAD) -t ringmetrics .
#   (or: make image)
#
# The builder stage runs `make build-static`, the same command make test
# checks (test/install), so the image's binary is the tested one.

FROM --platform=$BUILDPLATFORM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY Makefile ./
COPY cmd/ cmd/
COPY pkg/ pkg/
ARG TARGETOS=linux
ARG TARGETARCH=amd64
ARG VERSION=v0.0.0-dev
ARG GIT_COMMIT=
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH \
    make build-static VERSION="$VERSION" GIT_COMMIT="$GIT_COMMIT"

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /src/bin/ringmetrics-static /ringmetrics
# distroless's nonroot user; the chart also sets runAsUser 65532.
USER 65532:65532
EXPOSE 10250
ENTRYPOINT ["/ringmetrics"]
