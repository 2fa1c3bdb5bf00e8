#!/usr/bin/env bash
# Builds the fuzz targets and runs each for a bounded time; exits non-zero if
# any target crashed (a panic, a failed property, a timeout or the RSS limit).
# Usage: fuzz/run.sh [SECONDS_PER_TARGET]   (default 60)
# FUZZ_SANITIZER=address turns AddressSanitizer on (slower; the service has
# no unsafe code, so the default leaves it off).
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-60}
targets=(settings list_user_request directory_request)
CARGO_FUZZ_VERSION=0.13.2

# cargo-fuzz passes nightly-only flags to rustc (-Zsanitizer,
# -Cpasses=sancov-module, …); the stable toolchain accepts them this way.
export RUSTC_BOOTSTRAP=1
export CARGO_TERM_COLOR=never

started=$(date +%s)
elapsed() { echo "$(( $(date +%s) - started ))s"; }

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "==> installing cargo-fuzz $CARGO_FUZZ_VERSION"
  cargo install cargo-fuzz --locked --version "$CARGO_FUZZ_VERSION"
  echo "    installed in $(elapsed)"
fi

build=(--sanitizer "${FUZZ_SANITIZER:-none}")
echo "==> building the fuzz targets"
cargo fuzz build "${build[@]}"
echo "    built in $(elapsed)"

failed=()
for target in "${targets[@]}"; do
  # The growing corpus is kept between runs but never committed; the seeds
  # are read-only inputs.
  mkdir -p "corpus/$target" "artifacts/$target"
  # Outside artifacts/: cargo fuzz reports every new file there as a crash.
  mkdir -p target/logs
  log="target/logs/$target.log"
  echo "==> fuzzing $target for ${seconds}s"
  if cargo fuzz run "${build[@]}" "$target" "corpus/$target" "corpus-seeds/$target" -- \
      -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=20 -print_final_stats=1 \
      >"$log" 2>&1; then
    grep -E '^Done [0-9]+ runs|stat::number_of_executed_units|stat::peak_rss_mb' "$log" | sed 's/^/    /'
  else
    failed+=("$target")
    tail -n 60 "$log"
    echo "    $target FAILED: reproducer in fuzz/artifacts/$target/ (cargo fuzz run $target FILE)"
  fi
done

echo "==> done in $(elapsed)"
if [ ${#failed[@]} -gt 0 ]; then
  echo "crashed: ${failed[*]}"
  exit 1
fi
