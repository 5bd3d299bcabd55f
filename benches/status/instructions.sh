#!/usr/bin/env bash
# Instructions per monitored call, counted by callgrind inside the measured loop only
# (`--toggle-collect`, after a warm-up that calibrated the clock): the slope between
# 100,000 and 300,000 calls, so the loop's set-up cancels out. Deterministic, unlike
# timings on a shared machine, as long as every call lands in the first bucket. No
# `tracing` subscriber (spans disabled). Needs valgrind.
#
#   cd benches/status && ./instructions.sh
set -euo pipefail
cd "$(dirname "$0")"
CARGO_INCREMENTAL=0 cargo build --release --bin calls --quiet
count() {
  FLEXT_BENCH_VARIANT=$1 FLEXT_BENCH_CALLS=$2 \
    valgrind --tool=callgrind --callgrind-out-file=/dev/null \
    --toggle-collect='calls::measured' target/release/calls 2>&1 |
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
printf '| variant | instructions/call |\n|---|---:|\n'
for v in ${VARIANTS:-plain plain_nospan result_ok result_ok_nospan async result_err beyond_first beyond_first_nospan}; do
  a=$(count "$v" 100000)
  b=$(count "$v" 300000)
  printf '| %s | %s |\n' "$v" "$(echo "scale=2; ($b - $a) / 200000" | bc)"
done
