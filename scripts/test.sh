#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what the tests need when it
# is missing (idempotent), checks formatting and vet, runs every test with the
# race detector, and a short fuzzing pass over the API's request decoding.
#
#   ./scripts/test.sh            # everything
#   FUZZTIME=200000x ./scripts/test.sh   # a longer fuzzing pass
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '==> %s\n' "$*"; }
need() { # need CMD PACKAGE-HINT
  if ! command -v "$1" >/dev/null 2>&1; then
    echo "missing required tool: $1 ($2)" >&2
    exit 1
  fi
}

need go "Go 1.26+"
# The default build links SQLite's C library through cgo.
need gcc "apt-get install gcc"
# End-to-end tests drive Gantry with the real aws CLI and boto3. The machine
# image ships both; this tries PyPI only if they are missing (and fails
# clearly where PyPI is unreachable).
if ! command -v aws >/dev/null 2>&1 || ! python3 -c 'import boto3' >/dev/null 2>&1; then
  log "installing the aws CLI and boto3"
  python3 -m pip install --quiet awscli boto3
fi
need aws "pip install awscli"
python3 -c 'import boto3' || { echo "missing python module boto3" >&2; exit 1; }
# The Docker executor's tests need a Docker engine and a static busybox to
# build their images FROM scratch (no registry is needed or used).
if ! command -v dockerd >/dev/null 2>&1 || [ ! -x /bin/busybox ] || ! ldd /bin/busybox 2>&1 | grep -q 'not a dynamic'; then
  log "installing docker.io and busybox-static"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq docker.io busybox-static >/dev/null
fi
if ! docker version >/dev/null 2>&1; then
  log "starting dockerd"
  nohup dockerd >/tmp/gantry-dockerd.log 2>&1 &
  for _ in $(seq 1 120); do
    docker version >/dev/null 2>&1 && break
    sleep 0.5
  done
  if ! docker version >/dev/null 2>&1; then
    echo "dockerd did not start:" >&2
    tail -n 50 /tmp/gantry-dockerd.log >&2
    exit 1
  fi
fi
export GANTRY_REQUIRE_TOOLS=1 # tests fail instead of skipping when a tool is missing

log "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt needed on:" >&2
  echo "$unformatted" >&2
  exit 1
fi

log "go vet"
go vet ./...

log "go test -race"
go test -race -count=1 -timeout 20m ./...

# Builds without cgo use the pure-Go SQLite driver: the store passes the
# same tests on it, and the server still builds.
log "go test (CGO_ENABLED=0: the pure-Go SQLite driver)"
CGO_ENABLED=0 go test -count=1 ./store/... ./cmd/gantry/

# The budget is a count of executions, not a duration: with a duration, Go
# 1.26's fuzzing coordinator can fail a clean run with a bare "context deadline
# exceeded" when a worker is mid-call at the deadline (go.dev/issue/75804,
# fixed in Go 1.27). Minimization is bounded the same way.
log "fuzz request decoding (${FUZZTIME:-20000x} executions)"
go test -run '^$' -fuzz FuzzRequestDecoding -fuzztime "${FUZZTIME:-20000x}" \
	-fuzzminimizetime "${FUZZMINIMIZETIME:-100x}" ./internal/httpapi/

log "all tests passed"
