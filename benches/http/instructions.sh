#!/usr/bin/env bash
# Instructions per request of each variant, counted by callgrind: the slope between a
# run of 10,000 and one of 30,000 requests, so start-up and calibration cancel out.
# Deterministic, unlike timings on a shared machine. No `tracing` subscriber (spans
# disabled: the metrics path). Needs valgrind.
#
#   cd benches/http && ./instructions.sh
set -euo pipefail
cd "$(dirname "$0")"
cargo build --release --benches --quiet
bench=$(ls -t target/release/deps/http-* | grep -v '\.d$' | head -1)
count() {
  FLEXT_BENCH_PART=profile FLEXT_BENCH_VARIANT=$1 FLEXT_BENCH_REQUESTS=$2 \
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bench" 2>&1 |
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
printf '| variant | instructions/request |\n|---|---:|\n'
for v in bare noop metrics full axum-prometheus trace-metrics; do
  a=$(count "$v" 10000)
  b=$(count "$v" 30000)
  printf '| %s | %d |\n' "$v" $(( (b - a) / 20000 ))
done
