#!/usr/bin/env bash
# Builds the libFuzzer harnesses of fuzz/ in the instrumented build that scripts/sanitize.sh's tests
# share (scripts/sanitized-build.sh) and fuzzes every parser for QK_FUZZ_SECONDS each (default 45;
# scripts/test.sh, i.e. CI, passes 20). Replays fuzz/regressions/ first. Exits non-zero on any crash,
# leak, sanitizer report or timeout; the input that caused it is kept under $build/fuzz-artifacts/.
# Prints and writes ($build/fuzz-summary.txt) the exec count per harness.
#   scripts/fuzz.sh                       # 45 s each
#   QK_FUZZ_SECONDS=1800 scripts/fuzz.sh  # long run (docs/hardening.md records one)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${QK_FUZZ_SECONDS:-45}
build=${QK_SANITIZE_BUILD_DIR:-build-sanitize}
harnesses=(safetensors index_json config_profile tokenizer_json http_reply jinja_template openai_request reply_scoring)

scripts/sanitized-build.sh fuzzers

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
mkdir -p "$build/fuzz-artifacts"
summary="$build/fuzz-summary.txt"
: >"$summary"
status=0
for h in "${harnesses[@]}"; do
  binary="$build/fuzz/fuzz_$h"
  # Inputs that once crashed a harness: replayed as plain runs, each must pass.
  if compgen -G "fuzz/regressions/$h/*" >/dev/null; then
    "$binary" -runs=1 fuzz/regressions/"$h"/* >"$build/fuzz-$h-regressions.log" 2>&1 || {
      echo "fuzz: $h regression inputs fail again; see $build/fuzz-$h-regressions.log"; status=1; }
  fi
  # The working corpus grows across runs in the build directory; the committed seeds start it.
  corpus="$build/fuzz-corpus/$h"
  mkdir -p "$corpus"
  max_len=16384
  [[ $h == tokenizer_json ]] && max_len=131072
  log="$build/fuzz-$h.log"
  dict=()
  [[ -f fuzz/$h.dict ]] && dict=(-dict="fuzz/$h.dict")
  if "$binary" "$corpus" "fuzz/corpus/$h" "${dict[@]}" -max_total_time="$seconds" -max_len="$max_len" -timeout=20 -rss_limit_mb=2048 \
       -print_final_stats=1 -artifact_prefix="$build/fuzz-artifacts/$h-" >"$log" 2>&1; then
    result=ok
  else
    result="CRASH (see $log and $build/fuzz-artifacts/)"
    status=1
    # CI keeps only what is printed: the report and the input itself (base64), so it can be replayed
    # elsewhere (base64 -d > fuzz/regressions/<harness>/NAME).
    artifact=$(grep -o "Test unit written to [^ ]*" "$log" | tail -1 | sed 's/Test unit written to //' || true)
    if [[ -n $artifact && -f $artifact && $(stat -c %s "$artifact") -le 3072 ]]; then
      echo "  $h: the input, base64:"; base64 -w 120 "$artifact" | sed "s/^/  $h:   /"
    fi
    { grep -E 'ERROR|runtime error|SUMMARY|what\(\)|Test unit written' "$log" || true; } | head -20 | sed "s/^/  $h: /"
  fi
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  units=$(find "$corpus" -type f | wc -l)
  printf '%-16s %10s execs in %5s s (%6s/s), corpus %5s inputs: %s\n' "$h" "$execs" "$seconds" "$rate" "$units" "$result" | tee -a "$summary"
done
exit $status
