#!/usr/bin/env bash
# Health probes under load: wrk against /readyz (and /health) of the `health_checks`
# example in release mode, while its `inventory` check hangs for good (every run times
# out and its future is dropped). Then the scheduling overhead of one check run, measured
# by driving the runner's scheduler by hand (release build of the runtime's unit test).
#
#   benches/health_probe.sh                         # 10 s per run; 1, then 16 connections
#   DURATION=30s CONNECTIONS="1 4 64" THREADS=2 benches/health_probe.sh
#   NICE=-10 benches/health_probe.sh                # server and wrk ahead of other load (root)
#
# Needs wrk (Debian package `wrk`) and curl. Results go to BENCHMARKS.md, "Health probes".
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-1 16}
THREADS=${THREADS:-1}
NICE=${NICE:-0}

say() { printf '\n==> %s\n' "$*"; }

for tool in wrk curl; do
  command -v "$tool" >/dev/null || { echo "$tool is required (apt-get install $tool)" >&2; exit 1; }
done

say "machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg), $(rustc --version), nice $NICE"

say "building the health_checks example (release)"
cargo build --release --quiet --example health_checks

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log=$(mktemp)
FLEXT_OBS_LISTEN="127.0.0.1:$port" nice -n "$NICE" target/release/examples/health_checks --hang >"$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; rm -f "$log"' EXIT

# Ready to measure once the hanging check has timed out at least once.
for _ in $(seq 1 100); do
  if curl -fsS "http://127.0.0.1:$port/readyz?verbose" 2>/dev/null | grep -q 'inventory failed: timed out' ||
     curl -sS "http://127.0.0.1:$port/readyz?verbose" 2>/dev/null | grep -q 'inventory failed: timed out'; then
    break
  fi
  sleep 0.1
done
say "GET /readyz?verbose while inventory hangs"
curl -sS -i "http://127.0.0.1:$port/readyz?verbose" | tr -d '\r'

# One connection: the latency of a probe. More: the server saturated (one thread), where
# latency is mostly waiting in line behind the other connections.
for connections in $CONNECTIONS; do
  # /nope is the server's 404: the floor of this server and machine, nothing health does.
  for path in /nope /readyz /livez /health; do
    say "wrk -t$THREADS -c$connections -d$DURATION --latency http://127.0.0.1:$port$path"
    nice -n "$NICE" wrk -t"$THREADS" -c"$connections" -d"$DURATION" --latency "http://127.0.0.1:$port$path" |
      grep -E 'Latency|50%|75%|90%|99%|Requests/sec|requests in'
  done
done

# Paced: each connection sends one request per millisecond (about 4,000 requests/s), as a
# fleet of probers would, instead of flat out; latency is then mostly wake-up time.
paced=$(mktemp --suffix=.lua)
printf 'function delay()\n  return 1\nend\n' >"$paced"
for path in /nope /readyz /health; do
  say "wrk -t1 -c4 -d$DURATION --latency -s paced.lua http://127.0.0.1:$port$path (1 request/ms/connection)"
  nice -n "$NICE" wrk -t1 -c4 -d"$DURATION" --latency -s "$paced" "http://127.0.0.1:$port$path" |
    grep -E 'Latency|50%|75%|90%|99%|Requests/sec|requests in'
done
rm -f "$paced"

say "the hanging check kept timing out during the load"
curl -sS "http://127.0.0.1:$port/metrics" | grep -E '^health_check_runs_total\{check="inventory"'

kill "$pid" 2>/dev/null || true

say "scheduling overhead of one check run (dispatch, run a no-op check, record, publish)"
cargo test --release --quiet -p flext-observability --all-features --lib scheduling_overhead -- \
  --ignored --nocapture 2>&1 | grep 'scheduling overhead'
