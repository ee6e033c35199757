# Shell helpers of the benchmark scripts (run-bench.sh, run-docker-bench.sh),
# sourced by them. The caller sets SCRIPT (its name, for errors), OUT (the
# output directory) and IMAGE (the busybox image) first.

log() { printf '==> %s\n' "$*" >&2; }
die() { echo "$SCRIPT: $*" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_for() { # wait_for WHAT CMD...: retry CMD for up to 30s
  local what=$1; shift
  for _ in $(seq 1 60); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  die "$what did not come up"
}

# docker_with_image: start dockerd if no engine answers, and build $IMAGE
# FROM scratch with /bin/busybox if it is missing (no registry here).
docker_with_image() {
  if ! docker version >/dev/null 2>&1; then
    command -v dockerd >/dev/null || die "no Docker engine answers and dockerd is not installed"
    log "starting dockerd"
    nohup dockerd >"$OUT/dockerd.log" 2>&1 &
    wait_for dockerd docker version
  fi
  if ! docker image inspect "$IMAGE" >/dev/null 2>&1; then
    log "building $IMAGE FROM scratch with /bin/busybox"
    local ctx
    ctx=$(mktemp -d)
    cp /bin/busybox "$ctx/busybox"
    printf 'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\nENV PATH=/bin\n' >"$ctx/Dockerfile"
    DOCKER_BUILDKIT=0 docker build -q -t "$IMAGE" "$ctx" >/dev/null
    rm -rf "$ctx"
  fi
}

# build_binaries: gantry and gantrybench into $OUT/bin; sets GB.
build_binaries() {
  log "building gantry and gantrybench into $OUT/bin"
  go build -o "$OUT/bin/gantry" ./cmd/gantry
  go build -o "$OUT/bin/gantrybench" ./bench/cmd/gantrybench
  GB="$OUT/bin/gantrybench"
}

# machine_info prints the date and what the machine is, for machine.txt.
machine_info() {
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "nproc: $(nproc)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
  echo "memory: $(free -m | awk '/^Mem:/ {print $2 " MiB"}')"
  echo "kernel: $(uname -r)"
  echo "os: $(. /etc/os-release && echo "$PRETTY_NAME")"
}
