#!/usr/bin/env bash
# Instructions per call of each variant, counted by callgrind inside the measured calls
# only (`--toggle-collect`, after a warm-up that calibrated the clock): the slope between
# a run of 10,000 and one of 30,000 calls, so the set-up cancels out. Deterministic, unlike
# timings on a shared machine. No `tracing` subscriber (spans disabled: the metrics
# path). Needs valgrind.
#
#   cd benches/grpc && ./instructions.sh
set -euo pipefail
cd "$(dirname "$0")"
cargo build --release --benches --quiet
bench=$(ls -t target/release/deps/grpc-* | grep -v '\.d$' | head -1)
count() {
  FLEXT_BENCH_PART=profile FLEXT_BENCH_VARIANT=$1 FLEXT_BENCH_CALLS=$2 \
    valgrind --tool=callgrind --callgrind-out-file=/dev/null \
    --toggle-collect='grpc::measured' "$bench" 2>&1 |
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
printf '| variant | instructions/call |\n|---|---:|\n'
for v in bare metrics full peer; do
  a=$(count "$v" 10000)
  b=$(count "$v" 30000)
  printf '| %s | %d |\n' "$v" $(( (b - a) / 20000 ))
done
