#!/usr/bin/env bash
# Container throughput on this machine, in one run: Gantry with the Docker
# executor, the same containers started with plain `docker run`, and moto's
# Batch (which also runs jobs as Docker containers). Every target runs REPS
# times, in rotating order, so that the machine's noise spreads over all of
# them; the report has medians, spreads and ratios. See docs/benchmarks.md.
#
#   ./bench/run-docker-bench.sh                # N=100 containers, 3 repetitions
#   N=20 REPS=1 ./bench/run-docker-bench.sh    # a quick look
#   OUT=/tmp/mybench ./bench/run-docker-bench.sh
#
# Needs: go, a Docker engine (started here if `docker version` fails and
# dockerd is installed), /bin/busybox (static) to build the test image FROM
# scratch when the engine lacks it, python3 with moto[server], and the aws
# CLI (only to create the IAM role, subnet and security group moto's
# CreateComputeEnvironment insists on). No registry or internet access.
#
# Output in $OUT (default /tmp/gantrybench.XXXXXX): results.jsonl (one JSON
# line per run), report.md, machine.txt, gantry.log, moto.log.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-100}
REPS=${REPS:-3}
OUT=${OUT:-$(mktemp -d /tmp/gantrybench.XXXXXX)}
IMAGE=gantry-test/busybox:latest
VCPU=0.25       # per job: Fargate's smallest step ...
MAX_VCPUS=2     # ... in a 2-vCPU environment: 8 jobs at once
MEMORY=512
# The container spec Gantry's Docker executor creates for such a job
# (executor/execdocker/spec.go): an init process, NanoCPUs and a memory
# limit without swap. The "docker-run-spec" target runs docker run with it.
SPEC_ARGS="--init --cpus $VCPU --memory ${MEMORY}m --memory-swap ${MEMORY}m"

SCRIPT=run-docker-bench
# shellcheck source=bench/lib.sh
. bench/lib.sh

mkdir -p "$OUT/bin"
command -v go >/dev/null || die "go is required"
command -v aws >/dev/null || die "the aws CLI is required (pip install awscli)"
python3 -c 'import moto.server' 2>/dev/null || die "python3 with moto[server] is required"

docker_with_image

build_binaries

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

GPORT=$(free_port)
GURL=http://127.0.0.1:$GPORT
log "starting gantry server --executor docker on $GURL"
"$OUT/bin/gantry" server --executor docker --addr "127.0.0.1:$GPORT" --data-dir "$OUT/gantry-data" 2>"$OUT/gantry.log" &
GPID=$!
pids+=("$GPID")
wait_for gantry curl -sf -X POST "$GURL/v1/describejobqueues" -d '{}'

MPORT=$(free_port)
MURL=http://127.0.0.1:$MPORT
log "starting moto on $MURL"
python3 -m moto.server -H 127.0.0.1 -p "$MPORT" >"$OUT/moto.log" 2>&1 &
MPID=$!
pids+=("$MPID")
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_DEFAULT_REGION=us-east-1
MAWS="aws --endpoint-url $MURL --output text"
wait_for moto $MAWS iam list-roles
# moto checks that the service role, subnets and security groups exist.
ROLE=$($MAWS iam create-role --role-name gantrybench-batch --assume-role-policy-document '{}' --query Role.Arn)
VPC=$($MAWS ec2 create-vpc --cidr-block 10.10.0.0/16 --query Vpc.VpcId)
SUBNET=$($MAWS ec2 create-subnet --vpc-id "$VPC" --cidr-block 10.10.1.0/24 --query Subnet.SubnetId)
SG=$($MAWS ec2 create-security-group --vpc-id "$VPC" --group-name gantrybench --description gantrybench --query GroupId)

DOCKERD_PID=$(pidof -s dockerd || true)
CONTAINERD_PID=$(pidof -s containerd || true)
engine_watch=()
[ -n "$DOCKERD_PID" ] && engine_watch+=(-watch "dockerd=$DOCKERD_PID")
[ -n "$CONTAINERD_PID" ] && engine_watch+=(-watch "containerd=$CONTAINERD_PID")

{
  machine_info
  echo "docker engine: $(docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}})')"
  echo "docker storage driver: $(docker info --format '{{.Driver}} / cgroup {{.CgroupDriver}} v{{.CgroupVersion}}')"
  echo "docker CLI: $(docker version --format '{{.Client.Version}}')"
  echo "go: $(go version)"
  echo "moto: $(python3 -c 'import moto; print(moto.__version__)')"
  echo "gantry commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
    "($(git status --porcelain 2>/dev/null | wc -l) files changed in the working tree)"
  echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$OUT/machine.txt"
cat "$OUT/machine.txt" >&2

common=(-jobs "$N" -vcpu "$VCPU" -max-vcpus "$MAX_VCPUS" -memory "$MEMORY" -image "$IMAGE" -command true)
moto_env=(-moto-compat -service-role "$ROLE" -subnets "$SUBNET" -security-groups "$SG" -watch "moto=$MPID")
run_target() { # run_target NAME REP
  local name=$1 rep=$2
  local args=("${common[@]}" -docker-events -out "$OUT/results.jsonl" "${engine_watch[@]}" -rep "$rep" -label "$name")
  case $name in
    gantry) args+=(-target "$GURL" -watch "gantry=$GPID") ;;
    gantry-array) args+=(-target "$GURL" -watch "gantry=$GPID" -array) ;;
    docker-run) args+=(-target docker) ;;
    docker-run-spec) args+=(-target docker -docker-args "$SPEC_ARGS") ;;
    moto) args+=(-target "$MURL" "${moto_env[@]}") ;;
    moto-array) args+=(-target "$MURL" "${moto_env[@]}" -array) ;;
  esac
  log "rep $rep/$REPS: $name"
  "$GB" "${args[@]}" >"$OUT/run-$rep-$name.md" 2>>"$OUT/gantrybench.log" ||
    { echo "run $rep $name failed; see $OUT/gantrybench.log" | tee -a "$OUT/failures.txt" >&2; }
}

targets=(gantry docker-run moto gantry-array docker-run-spec moto-array)
for rep in $(seq 1 "$REPS"); do
  # Rotate the order each repetition.
  for i in $(seq 0 $((${#targets[@]} - 1))); do
    run_target "${targets[$(((i + rep - 1) % ${#targets[@]}))]}" "$rep"
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/machine.txt"

"$GB" report -runs -baseline docker-run -baseline docker-run-spec -baseline moto "$OUT/results.jsonl" >"$OUT/report.md"
cat "$OUT/report.md"

# Profile (not timed against anything): which engine calls Gantry and
# docker run make per container and what they cost, through gantrybench's
# engine proxy; where Gantry's own CPU goes (perf, when available); and its
# scheduling cycles (debug log). The proxy, perf and debug logging slow
# things down, so none of this is in the comparison above.
if [ "${PROFILE:-1}" = 1 ]; then
  SOCK="$OUT/engine.sock"
  # Folds `perf report` lines ("  1.23%  gantry  [.] pkg.Func") by component.
  PERF_SUMMARY='
import re, sys
buckets = [("kernel (syscalls: network, files, fsync, futex)", lambda d, s: d.startswith("[kernel")),
           # Go symbols all hold a dot; the other symbols of the gantry
           # binary are the SQLite C library (cgo build), but for a few
           # assembly routines of the runtime.
           ("SQLite (C library or modernc.org/sqlite, and its driver)", lambda d, s: s.startswith(("modernc.org/", "github.com/mattn/")) or
            (d == "gantry" and "." not in s and not s.endswith(("body", "Barrier")) and not s.startswith(("runtime", "_cgo", "x_cgo", "crosscall")))),
           ("database/sql", lambda d, s: s.startswith("database/sql")),
           ("Go runtime (GC, scheduler, maps, allocation)", lambda d, s: s.startswith(("runtime.", "internal/runtime", "memeqbody", "aeshash", "gcWriteBarrier", "indexbytebody", "cmpbody", "internal/sync", "sync."))),
           ("encoding/json", lambda d, s: s.startswith("encoding/json")),
           ("net/http, net, bufio, io", lambda d, s: s.startswith(("net/", "net.", "bufio", "io.", "vendor/golang.org/x/net", "crypto/"))),
           ("Docker client, OpenTelemetry, Prometheus", lambda d, s: s.startswith(("github.com/docker", "go.opentelemetry.io", "github.com/prometheus"))),
           ("gantry packages", lambda d, s: s.startswith("github.com/gantrybatch")),
           ("log/slog, fmt, strconv, reflect, other stdlib and other", lambda d, s: True)]
tot, rows = {}, []
for line in sys.stdin:
    m = re.match(r"\s*([0-9.]+)%\s+(\S+)\s+\[[.k]\]\s+(.*)", line)
    if not m:
        continue
    pct, dso, sym = float(m.group(1)), m.group(2), m.group(3).strip()
    rows.append((pct, dso, sym))
    for name, f in buckets:
        if f(dso, sym):
            tot[name] = tot.get(name, 0) + pct
            break
print("self time by component:")
for name, _ in buckets:
    if name in tot:
        print(f"  {tot[name]:5.1f}%  {name}")
print("top symbols:")
for pct, dso, sym in sorted(rows, reverse=True)[:20]:
    print(f"  {pct:5.1f}%  {sym[:110]}")
'

  start_proxy() { # start_proxy OUTFILE
    "$GB" engine-proxy -listen "$SOCK" -containers "$N" -out "$1" 2>>"$OUT/gantrybench.log" &
    PROXY_PID=$!
    pids+=("$PROXY_PID")
    wait_for engine-proxy curl -sf --unix-socket "$SOCK" http://docker/_ping
  }
  stop_proxy() { kill -TERM "$PROXY_PID"; wait "$PROXY_PID" || true; }

  log "profile: docker run (spec) through the engine proxy"
  start_proxy "$OUT/profile-engine-docker-run-spec.md"
  DOCKER_HOST="unix://$SOCK" "$GB" -target docker -label profile-docker-run-spec "${common[@]}" \
    -docker-args "$SPEC_ARGS" -out "$OUT/profile.jsonl" \
    >/dev/null 2>>"$OUT/gantrybench.log" || echo "profile docker-run-spec failed" | tee -a "$OUT/failures.txt" >&2
  stop_proxy

  log "profile: gantry through the engine proxy, with debug logs and perf"
  start_proxy "$OUT/profile-engine-gantry.md"
  P2PORT=$(free_port)
  "$OUT/bin/gantry" server --executor docker --docker-host "unix://$SOCK" --addr "127.0.0.1:$P2PORT" \
    --data-dir "$OUT/gantry-profile-data" --log-level debug --log-format json 2>"$OUT/gantry-profile.log" &
  G2PID=$!
  pids+=("$G2PID")
  wait_for gantry curl -sf -X POST "http://127.0.0.1:$P2PORT/v1/describejobqueues" -d '{}'
  PERF_PID=
  if command -v perf >/dev/null && perf record -q -o /dev/null -- true 2>/dev/null; then
    perf record -q -F 499 -g -p "$G2PID" -o "$OUT/gantry.perf.data" 2>>"$OUT/perf.log" &
    PERF_PID=$!
  fi
  "$GB" -target "http://127.0.0.1:$P2PORT" -label profile-gantry "${common[@]}" -watch "gantry=$G2PID" \
    -out "$OUT/profile.jsonl" >/dev/null 2>>"$OUT/gantrybench.log" \
    || echo "profile gantry failed" | tee -a "$OUT/failures.txt" >&2
  if [ -n "$PERF_PID" ]; then
    kill -INT "$PERF_PID"
    wait "$PERF_PID" || true
    perf report -i "$OUT/gantry.perf.data" --stdio --no-children -g none --sort dso,sym --percent-limit 0 2>/dev/null \
      | python3 -c "$PERF_SUMMARY" >"$OUT/gantry-perf.txt" || true
  fi
  kill -TERM "$G2PID"
  wait "$G2PID" || true
  stop_proxy
  python3 - "$OUT/gantry-profile.log" >"$OUT/gantry-cycles.txt" <<'PY'
import json, sys
cycles, phases = [], {}
for line in open(sys.argv[1]):
    try:
        e = json.loads(line)
    except ValueError:
        continue
    if e.get("msg") != "scheduling cycle":
        continue
    cycles.append(e)
    for k, v in e.items():
        if k.endswith("_ms"):
            phases[k] = phases.get(k, 0) + v
if cycles:
    placed = sum(c.get("placed", 0) for c in cycles)
    total = sum(c.get("total_ms", 0) for c in cycles)
    print(f"scheduling cycles that did something: {len(cycles)}; jobs placed: {placed}; "
          f"jobs per placing cycle: {placed / max(1, sum(1 for c in cycles if c.get('placed'))):.2f}")
    print(f"time in those cycles: {total} ms in all, {total / len(cycles):.1f} ms per cycle, "
          f"max {max(c.get('total_ms', 0) for c in cycles)} ms")
    print("by phase (ms, summed): " + ", ".join(f"{k[:-3]} {v}" for k, v in sorted(phases.items()) if k != "total_ms"))
PY
  {
    echo
    echo "## Profile (engine proxy; not timed against the others)"
    for f in profile-engine-docker-run-spec profile-engine-gantry; do
      echo
      echo "### ${f#profile-engine-}: Docker Engine API calls ($N containers)"
      echo
      cat "$OUT/$f.md"
    done
    echo
    echo "### The profiled runs (through the proxy, with debug logs and perf: slower, not comparable)"
    echo
    "$GB" report "$OUT/profile.jsonl" | sed -n '/^Throughput/,/^Per-job/p' | sed '$d'
    "$GB" report "$OUT/profile.jsonl" | sed -n '/^CPU seconds/,$p'
    echo
    echo "### gantry: scheduling cycles (debug log)"
    echo
    cat "$OUT/gantry-cycles.txt"
    if [ -s "$OUT/gantry-perf.txt" ]; then
      echo
      echo "### gantry: CPU profile (perf, self time by symbol)"
      echo
      echo '```'
      cat "$OUT/gantry-perf.txt"
      echo '```'
    fi
  } >>"$OUT/report.md"
fi
log "results in $OUT"
[ ! -s "$OUT/failures.txt" ] || die "some runs failed: $(cat "$OUT/failures.txt")"
