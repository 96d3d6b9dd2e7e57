#!/usr/bin/env bash
# Times restore, procrustes and diagnose on the synthetic Qwen3-Next-80B-shaped pair in one run and
# prints the medians, the ratios to restore (target: procrustes <= 2x restore) and each command's
# peak RSS. Inputs are read once first so every command sees a warm page cache; the commands run
# ROUNDS times, interleaved, so background load hits them alike. CPU seconds (user + sys) are
# printed too: on a loaded machine they are the steadier measure. With BASELINE_BINARY (another
# build, e.g. main's), its procrustes is timed in the same rounds for an old-vs-new ratio.
#   bench/procrustes_bench.sh QKRESTORE_BINARY [WORK_DIR] [ROUNDS] [BASELINE_BINARY]
set -euo pipefail
bin=$(realpath "$1")
work=${2:-/tmp/qkrestore-procrustes-bench}
rounds=${3:-3}
baseline=${4:+$(realpath "$4")}
here=$(dirname "$(realpath "$0")")
if [[ ! -f $work/sft/model.safetensors ]]; then
  python3 "$here/procrustes_bench_gen.py" "$work"
fi
cat "$work"/base/model.safetensors "$work"/sft/model.safetensors > /dev/null

declare -A times rss cpu
measure() {  # measure NAME COMMAND...: appends seconds, CPU seconds and peak RSS (KB) of one run
  local name=$1 start end
  shift
  start=$(date +%s.%N)
  /usr/bin/time -f '%M %U %S' -o "$work/rss" "$@" > /dev/null 2>&1
  end=$(date +%s.%N)
  times[$name]+="$(echo "$end - $start" | bc -l) "
  rss[$name]+="$(cut -d' ' -f1 "$work/rss") "
  cpu[$name]+="$(awk '{print $2 + $3}' "$work/rss") "
}
median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

names=(restore procrustes diagnose)
[[ -n $baseline ]] && names+=(baseline-procrustes)
for ((i = 0; i < rounds; i++)); do
  measure restore "$bin" restore --base "$work/base" --sft "$work/sft" --out "$work/out-restore" --force -q
  measure procrustes "$bin" procrustes --base "$work/base" --sft "$work/sft" --out "$work/out-procrustes" --force -q
  measure diagnose "$bin" diagnose --base "$work/base" --sft "$work/sft" -q
  [[ -n $baseline ]] && measure baseline-procrustes "$baseline" procrustes --base "$work/base" --sft "$work/sft" --out "$work/out-procrustes" --force -q
  line="round $i:"
  for n in "${names[@]}"; do line+=" $n $(echo "${times[$n]}" | awk '{printf "%.3f", $NF}') s"; done
  echo "$line"
done
rm -rf "$work/out-restore" "$work/out-procrustes" "$work/rss"
restore=$(echo "${times[restore]}" | median)
restore_cpu=$(echo "${cpu[restore]}" | median)
for n in "${names[@]}"; do
  t=$(echo "${times[$n]}" | median)
  c=$(echo "${cpu[$n]}" | median)
  printf '%-20s median %7.3f s  ratio to restore %5.2f  CPU %6.2f s (ratio %5.2f)  peak RSS %4d MB  (runs: %s)\n' "$n" "$t" \
    "$(echo "$t / $restore" | bc -l)" "$c" "$(echo "$c / $restore_cpu" | bc -l)" \
    "$(( $(echo "${rss[$n]}" | tr ' ' '\n' | sort -g | tail -1) / 1024 ))" "${times[$n]}"
done
echo "target: procrustes <= 2x restore; $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
