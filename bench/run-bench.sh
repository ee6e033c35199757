#!/usr/bin/env bash
# The API-level benchmarks of issue 5 in one run: Gantry (process executor,
# SQLite) against moto's Batch (python3 -m moto.server, jobs as Docker
# containers), plus the machine's own limit for trivial jobs (forking
# /bin/true). Every scenario gets a fresh Gantry and a fresh moto; its
# repetitions alternate between them. submit-throughput, which measures an
# empty server, gets fresh ones for every run. The report has medians and ratios
# (gantrybench report -baseline moto -baseline machine-limit).
#
#   ./bench/run-bench.sh                                   # full sizes, 3 repetitions
#   N=500 E2E_N=200 Q=20000 REPS=1 ./bench/run-bench.sh    # a quick look
#   SCENARIOS="submit-throughput submit-latency" MOTO=0 ./bench/run-bench.sh
#
# Sizes (Gantry; moto gets the MOTO_* sizes, because it runs a thread per
# job and a Docker container per job that runs, and would take hours):
#   SUBMIT_N submit-throughput jobs                          (default 30000)
#   N        describe-list-latency jobs present (K),
#            array-10k children, chain-10k length            (default 10000)
#   E2E_N    e2e-throughput jobs, from 16 submitters         (default 5000)
#   FANIN_W  fan-in width                                     (default 1000)
#   SAMPLES  latency samples (M)                              (default 200)
#   Q        queued-1m jobs (Gantry only)                     (default 1000000)
#   QUEUED_SAMPLES  probe jobs after the fill                 (default 20)
#   MOTO_N (200) MOTO_RUN_N (20: e2e, array) MOTO_CHAIN (5) MOTO_FANIN (10) MOTO_SAMPLES (10)
#   MAX_VCPUS (8) and VCPU (0.25): the runnable environment, 32 jobs at once
# SubmitJob client (gantrybench -submit-client; all clients send the same
# SigV4-signed rest-json request, and the report's mode names the client):
#   THROUGHPUT_CLIENTS  clients submit-throughput runs with, each at 1 and 16
#            submitters, side by side in the report  (default "sdk http wire")
#   SUBMIT_CLIENT  the client of every other scenario's SubmitJob calls
#            (e2e-throughput, submit-latency, describe-list-latency fill,
#            array-10k, chain-10k, fan-in, queued-1m): sdk is aws-sdk-go-v2,
#            which on a 2-core machine spends about as much CPU per call as
#            Gantry and caps the submit rate; http is the request on plain
#            net/http; wire is the request on HTTP/1.1 connections of the
#            tool's own, the cheapest (default wire)
#   DescribeJobs, ListJobs and the setup always use aws-sdk-go-v2.
# Other knobs: REPS (3), OUT (default /tmp/gantrybench-api.XXXXXX),
# SCENARIOS (all), MOTO=0 (skip moto), MACHINE=0 (skip the fork baseline),
# CYCLE_LOG=1 (run queued-1m's Gantry with debug JSON logs and summarize its
# scheduling cycles; the logs slow it down).
#
# Needs: go, python3 with moto[server], the aws CLI (moto's IAM role, subnet
# and security group), and for moto's jobs a Docker engine (started here if
# none answers) with the gantry-test/busybox image (built FROM scratch from
# /bin/busybox if missing). No registry or internet access.
#
# Output in $OUT: results.jsonl, report.md, machine.txt, per-run tables
# (run-*.md), server logs.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-10000}
SUBMIT_N=${SUBMIT_N:-30000}
E2E_N=${E2E_N:-5000}
FANIN_W=${FANIN_W:-1000}
SAMPLES=${SAMPLES:-200}
Q=${Q:-1000000}
QUEUED_SAMPLES=${QUEUED_SAMPLES:-20}
MOTO_N=${MOTO_N:-200}
MOTO_RUN_N=${MOTO_RUN_N:-20}
MOTO_CHAIN=${MOTO_CHAIN:-5}
MOTO_FANIN=${MOTO_FANIN:-10}
MOTO_SAMPLES=${MOTO_SAMPLES:-10}
MAX_VCPUS=${MAX_VCPUS:-8}
VCPU=${VCPU:-0.25}
REPS=${REPS:-3}
MOTO=${MOTO:-1}
MACHINE=${MACHINE:-1}
CYCLE_LOG=${CYCLE_LOG:-0}
SUBMIT_CLIENT=${SUBMIT_CLIENT:-wire}
THROUGHPUT_CLIENTS=${THROUGHPUT_CLIENTS:-sdk http wire}
ALL="submit-throughput e2e-throughput submit-latency describe-list-latency array-10k chain-10k fan-in queued-1m"
SCENARIOS=${SCENARIOS:-$ALL}
OUT=${OUT:-$(mktemp -d /tmp/gantrybench-api.XXXXXX)}
IMAGE=gantry-test/busybox:latest

SCRIPT=run-bench
# shellcheck source=bench/lib.sh
. bench/lib.sh

mkdir -p "$OUT/bin"
command -v go >/dev/null || die "go is required"
if [ "$MOTO" = 1 ]; then
  command -v aws >/dev/null || die "the aws CLI is required for moto (pip install awscli), or set MOTO=0"
  python3 -c 'import moto.server' 2>/dev/null || die "python3 with moto[server] is required, or set MOTO=0"
  docker_with_image
fi

build_binaries

GPID= MPID=
stop_servers() {
  for p in $GPID $MPID; do kill "$p" 2>/dev/null || true; done
  for p in $GPID $MPID; do wait "$p" 2>/dev/null || true; done
  GPID= MPID=
}
trap stop_servers EXIT

start_gantry() { # start_gantry NAME [extra server flags]: a fresh server and data dir
  # The data directories stay until the run is over: on ext4 without a
  # journal (this machine's disk), creating files and directories gets
  # slower for a minute or more after many deletions (the allocator skips
  # recently deleted inodes), and a scenario would pay for the previous
  # one's cleanup. Clean $OUT afterwards.
  local name=$1; shift
  GPORT=$(free_port)
  GURL=http://127.0.0.1:$GPORT
  [ -e "$OUT/gantry-data-$name" ] && die "$OUT/gantry-data-$name exists: use a fresh OUT"
  "$OUT/bin/gantry" server --executor process --addr "127.0.0.1:$GPORT" --data-dir "$OUT/gantry-data-$name" "$@" \
    2>"$OUT/gantry-$name.log" &
  GPID=$!
  wait_for gantry curl -sf -X POST "$GURL/v1/describejobqueues" -d '{}'
}

start_moto() { # start_moto NAME: a fresh moto, with the IAM role, subnet and security group it checks for
  local name=$1
  MPORT=$(free_port)
  MURL=http://127.0.0.1:$MPORT
  python3 -m moto.server -H 127.0.0.1 -p "$MPORT" >"$OUT/moto-$name.log" 2>&1 &
  MPID=$!
  local maws="aws --endpoint-url $MURL --output text"
  export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_DEFAULT_REGION=us-east-1
  wait_for moto $maws iam list-roles
  ROLE=$($maws iam create-role --role-name gantrybench-batch --assume-role-policy-document '{}' --query Role.Arn)
  local vpc
  vpc=$($maws ec2 create-vpc --cidr-block 10.10.0.0/16 --query Vpc.VpcId)
  SUBNET=$($maws ec2 create-subnet --vpc-id "$vpc" --cidr-block 10.10.1.0/24 --query Subnet.SubnetId)
  SG=$($maws ec2 create-security-group --vpc-id "$vpc" --group-name gantrybench --description gantrybench --query GroupId)
}

{
  machine_info
  echo "go: $(go version)"
  [ "$MOTO" = 1 ] && echo "moto: $(python3 -c 'import moto; print(moto.__version__)')" &&
    echo "docker engine: $(docker version --format '{{.Server.Version}}')"
  echo "gantry commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
    "($(git status --porcelain 2>/dev/null | wc -l) files changed in the working tree)"
  echo "sizes: SUBMIT_N=$SUBMIT_N N=$N E2E_N=$E2E_N FANIN_W=$FANIN_W SAMPLES=$SAMPLES Q=$Q QUEUED_SAMPLES=$QUEUED_SAMPLES" \
    "MOTO_N=$MOTO_N MOTO_RUN_N=$MOTO_RUN_N MOTO_CHAIN=$MOTO_CHAIN MOTO_FANIN=$MOTO_FANIN MOTO_SAMPLES=$MOTO_SAMPLES" \
    "MAX_VCPUS=$MAX_VCPUS VCPU=$VCPU REPS=$REPS"
  echo "submit clients: submit-throughput: $THROUGHPUT_CLIENTS; other scenarios: $SUBMIT_CLIENT"
  echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$OUT/machine.txt"
cat "$OUT/machine.txt" >&2

RES="$OUT/results.jsonl"
common=(-out "$RES" -log-level warn -max-vcpus "$MAX_VCPUS" -vcpu "$VCPU" -image "$IMAGE" -command true)

bench() { # bench TAG ARGS...: one run; a failure is recorded, not fatal
  local tag=$1; shift
  log "$tag"
  "$GB" "${common[@]}" "$@" >"$OUT/run-$tag.md" 2>>"$OUT/gantrybench.log" ||
    { echo "$tag failed; see $OUT/gantrybench.log and $OUT/run-$tag.md" | tee -a "$OUT/failures.txt" >&2; }
}

# scenario_args SCENARIO TARGET: the size flags of one scenario (gantry or moto).
scenario_args() {
  local s=$1 t=$2
  case $s/$t in
    submit-throughput/gantry) echo "-jobs $SUBMIT_N" ;;
    submit-throughput/moto) echo "-jobs $MOTO_N" ;;
    e2e-throughput/gantry) echo "-jobs $E2E_N -submit-clients 16" ;;
    e2e-throughput/moto) echo "-jobs $MOTO_RUN_N -submit-clients 16" ;;
    submit-latency/gantry) echo "-samples $SAMPLES -latency-poll 1ms" ;;
    submit-latency/moto) echo "-samples $MOTO_SAMPLES -latency-poll 20ms" ;;
    describe-list-latency/gantry) echo "-jobs $N -submit-clients 16 -samples $SAMPLES" ;;
    describe-list-latency/moto) echo "-jobs $MOTO_N -submit-clients 16 -samples $MOTO_SAMPLES" ;;
    array-10k/gantry) echo "-jobs $N" ;;
    array-10k/moto) echo "-jobs $MOTO_RUN_N" ;;
    chain-10k/gantry) echo "-jobs $N" ;;
    chain-10k/moto) echo "-jobs $MOTO_CHAIN" ;;
    fan-in/gantry) echo "-jobs $FANIN_W" ;;
    fan-in/moto) echo "-jobs $MOTO_FANIN" ;;
  esac
}

for s in $SCENARIOS; do
  case " $ALL " in *" $s "*) ;; *) die "unknown scenario $s (have: $ALL)" ;; esac
  if [ "$s" = queued-1m ]; then
    # Gantry only. Its resources are kept: deleting a queue of Q jobs
    # fails them all in one transaction, and the server is thrown away.
    for rep in $(seq 1 "$REPS"); do
      flags=()
      [ "$CYCLE_LOG" = 1 ] && flags=(--log-level debug --log-format json)
      start_gantry "queued-$rep" "${flags[@]}"
      bench "queued-1m-gantry-$rep" -scenario queued-1m -target "$GURL" -label gantry -rep "$rep" \
        -server-pid "$GPID" -jobs "$Q" -submit-clients 16 -submit-client "$SUBMIT_CLIENT" \
        -samples "$QUEUED_SAMPLES" -latency-poll 1ms -timeout 2h -keep
      stop_servers
    done
    continue
  fi
  # submit-throughput measures an empty server (the queued-1m scenario
  # measures a full one): every run of it gets fresh servers, since each
  # run leaves its jobs behind (FAILED when its queue is deleted), and 18
  # runs on one server would leave 500,000. The other scenarios share one
  # pair of servers across their runs.
  fresh_each=0
  [ "$s" = submit-throughput ] && fresh_each=1
  start_servers() { start_gantry "$1"; if [ "$MOTO" = 1 ]; then start_moto "$1"; fi; }
  if [ "$fresh_each" = 0 ]; then start_servers "$s"; fi
  # Each variant is "FLAGS|TAG-SUFFIX".
  variants=("-submit-client $SUBMIT_CLIENT|")
  if [ "$s" = submit-throughput ]; then
    variants=()
    for sc in $THROUGHPUT_CLIENTS; do
      for c in 1 16; do variants+=("-submit-clients $c -submit-client $sc|-c$c-$sc"); done
    done
  fi
  for rep in $(seq 1 "$REPS"); do
    for vt in "${variants[@]}"; do
      v=${vt%%|*} tag=$s${vt#*|}
      if [ "$fresh_each" = 1 ]; then start_servers "$tag-$rep"; fi
      # shellcheck disable=SC2046,SC2086 # the size flags are words
      bench "$tag-gantry-$rep" -scenario "$s" -target "$GURL" -label gantry -rep "$rep" \
        -server-pid "$GPID" -poll 20ms -timeout 1h $(scenario_args "$s" gantry) $v
      if [ "$MOTO" = 1 ]; then
        # shellcheck disable=SC2046,SC2086
        bench "$tag-moto-$rep" -scenario "$s" -target "$MURL" -label moto -rep "$rep" \
          -server-pid "$MPID" -moto-compat -service-role "$ROLE" -subnets "$SUBNET" -security-groups "$SG" \
          -hold missing-dep -poll 200ms -timeout 1h $(scenario_args "$s" moto) $v
      fi
      if [ "$fresh_each" = 1 ]; then stop_servers; fi
    done
  done
  stop_servers
done

if [ "$MACHINE" = 1 ]; then
  for rep in $(seq 1 "$REPS"); do
    bench "machine-limit-$rep" -scenario machine-limit -label machine-limit -rep "$rep" -duration 5s
  done
fi
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/machine.txt"

"$GB" report -runs -baseline moto -baseline machine-limit "$RES" >"$OUT/report.md"
if [ "$CYCLE_LOG" = 1 ]; then
  for f in "$OUT"/gantry-queued-*.log; do
    python3 - "$f" <<'PY'
import json, sys
cycles = []
for line in open(sys.argv[1]):
    try:
        e = json.loads(line)
    except ValueError:
        continue
    if e.get("msg") == "scheduling cycle":
        cycles.append(e)
if cycles:
    ms = sorted(c.get("total_ms", 0) for c in cycles)
    print(f"{sys.argv[1]}: {len(cycles)} scheduling cycles that did something; total_ms mean "
          f"{sum(ms) / len(ms):.1f}, p50 {ms[len(ms) // 2]}, p99 {ms[min(len(ms) - 1, len(ms) * 99 // 100)]}, max {ms[-1]}")
PY
  done >>"$OUT/report.md"
fi
cat "$OUT/report.md"
log "results in $OUT"
[ ! -s "$OUT/failures.txt" ] || die "some runs failed: $(cat "$OUT/failures.txt")"
