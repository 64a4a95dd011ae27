#!/usr/bin/env bash
# Builds the pinned test-bed tools once into a versioned cache and prints the
# directory holding them. A tool already in the cache is reused as it is.
#
#   hack/tools.sh            build what is missing, print the bin directory
#   hack/tools.sh --print    print the bin directory only
#
# The versions are the ones pinned by the go.mod files under test/tools/,
# and for Prometheus, the Debian package version below.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cache=${RINGMETRICS_CACHE:-$HOME/.cache/ringmetrics}

k8s_version=v1.37.2
etcd_version=v3.6.16
ms_version=v0.9.0
helm_version=v3.22.0
vpa_version=v1.8.1
# Debian's own build of Prometheus (bookworm), with promtool beside it.
prometheus_version=v2.42.0
prometheus_deb=2.42.0+ds-5+b6

bin="$cache/bin"
mkdir -p "$bin"

if [[ "${1:-}" == "--print" ]]; then
  echo "$bin"
  exit 0
fi

log() { echo "tools: $*" >&2; }

# build NAME VERSION MODULE_DIR PACKAGE [LDFLAGS [LINK]]
# builds NAME-VERSION and points the link LINK (default NAME) at it.
build() {
  local name=$1 version=$2 dir=$3 pkg=$4 ldflags=${5:-} link=${6:-$1}
  local out="$bin/$name-$version"
  if [[ -x "$out" ]]; then
    ln -sf "$name-$version" "$bin/$link"
    return 0
  fi
  log "building $name $version (first time only; cached in $out)"
  local start=$SECONDS
  if ! (cd "$root/test/tools/$dir" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w $ldflags" -o "$out.tmp" "$pkg") >"$bin/$name-$version.build.log" 2>&1; then
    log "FAILED to build $name $version: see $bin/$name-$version.build.log"
    tail -20 "$bin/$name-$version.build.log" >&2
    exit 1
  fi
  mv "$out.tmp" "$out"
  rm -f "$bin/$name-$version.build.log"
  ln -sf "$name-$version" "$bin/$link"
  log "built $name $version in $((SECONDS - start))s"
}

# deb PACKAGE DEB_VERSION VERSION BINARY... unpacks the binaries of a pinned
# Debian package into the cache as BINARY-VERSION, linked as BINARY. Nothing
# is installed system-wide: no service starts, and a later run needs no root.
# Fetching the package needs apt's lists to name that version: as root, an
# apt-get update is run when they do not.
deb() {
  local pkg=$1 debversion=$2 version=$3 b missing=
  shift 3
  for b in "$@"; do [[ -x "$bin/$b-$version" ]] || missing=1; done
  if [[ -n "$missing" ]]; then
    log "unpacking Debian's $pkg $debversion (first time only; cached in $bin)"
    local tmp
    tmp=$(mktemp -d)
    # apt's download user must be able to write the package here.
    chmod 755 "$tmp"
    if ! (cd "$tmp" && apt-get download "$pkg=$debversion") >"$tmp/log" 2>&1; then
      if [[ $(id -u) -ne 0 ]]; then
        log "FAILED to fetch $pkg=$debversion, and only root can run apt-get update:"
        tail -5 "$tmp/log" >&2
        exit 1
      fi
      if ! { apt-get update && (cd "$tmp" && apt-get download "$pkg=$debversion"); } >>"$tmp/log" 2>&1; then
        log "FAILED to fetch $pkg=$debversion from Debian's packages:"
        tail -20 "$tmp/log" >&2
        exit 1
      fi
    fi
    dpkg-deb -x "$tmp/${pkg}_"*.deb "$tmp/root"
    for b in "$@"; do
      mv "$tmp/root/usr/bin/$b" "$bin/$b-$version"
    done
    rm -rf "$tmp"
  fi
  for b in "$@"; do ln -sf "$b-$version" "$bin/$b"; done
}

minor=${k8s_version#v1.}; minor=${minor%%.*}
# As the release build (hack/lib/version.sh): both version packages, so that
# clients also send the release in their User-Agent.
k8s_ldflags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  k8s_ldflags+=" -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
done

build etcd "$etcd_version" etcd go.etcd.io/etcd/server/v3
build kube-apiserver "$k8s_version" kube k8s.io/kubernetes/cmd/kube-apiserver "$k8s_ldflags"
build kube-controller-manager "$k8s_version" kube k8s.io/kubernetes/cmd/kube-controller-manager "$k8s_ldflags"
# kubectl of the same release, linked as kubectl.1.<minor> beside the others
# (as the machine's kubectl.1.27 … kubectl.1.33): never as a bare kubectl,
# which would shadow the machine's own for anyone with this folder on PATH.
build kubectl "$k8s_version" kube k8s.io/kubernetes/cmd/kubectl "$k8s_ldflags" "kubectl.1.$minor"
build metrics-server "$ms_version" metrics-server sigs.k8s.io/metrics-server/cmd/metrics-server \
  "-X sigs.k8s.io/metrics-server/pkg/version.gitVersion=$ms_version"
# The VPA recommender, a real client of metrics.k8s.io (test/vpa).
build vpa-recommender "$vpa_version" vpa k8s.io/autoscaler/vertical-pod-autoscaler/pkg/recommender
# Prometheus scrapes ringmetrics in test/prometheus; promtool checks rules.
deb prometheus "$prometheus_deb" "$prometheus_version" prometheus promtool
if [[ -d "$root/test/tools/helm" ]]; then
  # As helm's own release build: its version, and the Kubernetes version its
  # client libraries target as the default .Capabilities.KubeVersion (else
  # v1.20.0, which fails charts' kubeVersion constraints).
  helm_k8s_minor=$(sed -n 's|^[[:space:]]*k8s.io/client-go v0\.\([0-9]*\)\..*|\1|p' "$root/test/tools/helm/go.mod")
  helm_ldflags="-X helm.sh/helm/v3/internal/version.version=$helm_version -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
  for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
    helm_ldflags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$helm_k8s_minor"
  done
  build helm "$helm_version" helm helm.sh/helm/v3/cmd/helm "$helm_ldflags"
fi
echo "$bin"
