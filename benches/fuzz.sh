#!/usr/bin/env bash
# The long fuzzing run: every property of tests/tests/proptests.rs (the Accept
# negotiation, percent decoding, URL redaction, the settings readers, bucket bounds)
# with a million cases each instead of 256, on stable Rust. Prints the time of each
# property; the numbers go to BENCHMARKS.md, "Property fuzzing".
#
#   benches/fuzz.sh                    # 1,000,000 cases per property, test profile
#   CASES=100000 benches/fuzz.sh       # a shorter run
#   PROFILE=release benches/fuzz.sh    # faster, at the cost of a release build of the tests
#
# A failure prints the minimal failing input; proptest keeps its seed in
# tests/tests/proptests.proptest-regressions (commit it) so every later run tries it first.
set -euo pipefail
cd "$(dirname "$0")/.."

CASES=${CASES:-1000000}
PROFILE=${PROFILE:-dev}

# nextest prints the time of each property.
PROPTEST_CASES=$CASES cargo nextest run --cargo-profile "$PROFILE" \
  -p flext-observability-tests --all-features --test proptests --test-threads 1
