#!/usr/bin/env bash
# Runs every libFuzzer binary in BUILD_DIR (built with -DSP_FUZZ=ON, see `make fuzz`) for
# SECONDS each. Each target starts from its checked-in seed corpus tests/fuzz/corpus/<target>/
# (read, never written) plus a scratch corpus in BUILD_DIR/fuzz-corpus/<target>/ that keeps
# what earlier runs found, and uses tests/fuzz/<target>.dict as its dictionary if present.
# A crash leaves its input in tests/fuzz/crashes/ (git-ignored) and fails the run; once fixed,
# copy the input into the seed corpus so the replay test keeps it.
set -uo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 BUILD_DIR SECONDS" >&2
  exit 2
fi
build=$(cd "$1" && pwd) || exit 2
seconds=$2
here=$(cd "$(dirname "$0")" && pwd)
crashes="$here/crashes"
mkdir -p "$crashes"

targets=()
for bin in "$build"/fuzz_*; do
  [ -f "$bin" ] && [ -x "$bin" ] && targets+=("$bin")
done
if [ ${#targets[@]} -eq 0 ]; then
  echo "fuzz: no fuzz_* binaries in $build (configure with -DSP_FUZZ=ON)" >&2
  exit 2
fi

failed=()
for bin in "${targets[@]}"; do
  name=$(basename "$bin")
  seed="$here/corpus/$name"
  scratch="$build/fuzz-corpus/$name"
  mkdir -p "$scratch"
  dirs=("$scratch")
  [ -d "$seed" ] && dirs+=("$seed") || echo "fuzz: $name has no seed corpus at $seed" >&2
  dict=()
  [ -f "$here/$name.dict" ] && dict=(-dict="$here/$name.dict")
  echo "fuzz: $name for ${seconds}s"
  log="$build/fuzz-$name.log"
  if "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$crashes/$name-" "${dict[@]}" "${dirs[@]}" >"$log" 2>&1; then
    grep -E "^stat::number_of_executed_units|^Done " "$log" | tail -2 | sed "s/^/  /"
  else
    echo "fuzz: $name FAILED; see $log" >&2
    grep -E "ERROR|SUMMARY|Test unit written|artifact_prefix" "$log" | head -8 | sed "s/^/  /" >&2
    failed+=("$name")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: failures in ${failed[*]}; inputs in $crashes" >&2
  exit 1
fi
echo "fuzz: ${#targets[@]} targets ran ${seconds}s each without a crash"
