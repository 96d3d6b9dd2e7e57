#!/usr/bin/env bash
# Issue 3's performance target, measured in one run on one disk:
#   restore wall time <= 1.1 x `cp -r` of the SFT directory, and
#   peak RSS <= 256 MB + the largest restored tensor (GNU time's "Maximum resident set size").
# Usage: bench/restore_vs_cp.sh [BENCH_DIR] [GB]   (default /tmp/qkbench, 8 GB). Needs ~3x GB free.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-/tmp/qkbench}
gb=${2:-8}
bin=${QKRESTORE:-$here/build/qkrestore}
command -v /usr/bin/time >/dev/null || apt-get install -y -qq time >/dev/null
if [ ! -f "$dir/sft/model.safetensors.index.json" ]; then
  python3 "$here/bench/make_synthetic_checkpoint.py" "$dir" --gb "$gb"
fi
sync
measure() {  # prints "seconds max_rss_kb"
  /usr/bin/time -f "%e %M" -o "$dir/time.txt" "$@" >/dev/null 2>&1
  cat "$dir/time.txt"
}
# Like `cp`, restore returns with the output possibly still in the page cache; with --fsync it puts
# every file on disk before renaming OUT into place, so `restore --fsync` is compared with
# `cp -r && sync`, the like-for-like durable copy.
rounds=${QK_BENCH_ROUNDS:-3}
declare -a cp_s cps_s restore_s fsync_s restore_rss
for round in $(seq "$rounds"); do
  rm -rf "$dir/cp_out" "$dir/restore_out"; sync
  read -r s _ < <(measure cp -r "$dir/sft" "$dir/cp_out"); cp_s+=("$s")
  rm -rf "$dir/cp_out"; sync
  read -r s rss < <(measure "$bin" restore -q --base "$dir/base" --sft "$dir/sft" --out "$dir/restore_out"); restore_s+=("$s"); restore_rss+=("$rss")
  rm -rf "$dir/restore_out"; sync
  read -r s _ < <(measure sh -c "cp -r '$dir/sft' '$dir/cp_out' && sync"); cps_s+=("$s")
  rm -rf "$dir/cp_out"; sync
  read -r s rss < <(measure "$bin" restore -q --fsync --base "$dir/base" --sft "$dir/sft" --out "$dir/restore_out"); fsync_s+=("$s"); restore_rss+=("$rss")
  sync
done
"$bin" verify -q --base "$dir/base" --sft "$dir/sft" --out "$dir/restore_out"
largest=$(python3 - "$dir/restore_out/qkrestore.json" "$dir/sft/model.safetensors.index.json" <<'PY'
import json, sys, struct, os
prov = json.load(open(sys.argv[1]))
restored = [n for n, t in prov["tensors"].items() if t["source"] != "sft"]
index = json.load(open(sys.argv[2]))
base = os.path.dirname(sys.argv[2])
largest = 0
for name in restored:
    with open(os.path.join(base, index["weight_map"][name]), "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        h = json.loads(f.read(n))
    b, e = h[name]["data_offsets"]
    largest = max(largest, e - b)
print(largest)
PY
)
median() { printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"; }
cp_med=$(median "${cp_s[@]}"); cps_med=$(median "${cps_s[@]}"); re_med=$(median "${restore_s[@]}"); fs_med=$(median "${fsync_s[@]}"); rss_max=$(printf '%s\n' "${restore_rss[@]}" | sort -n | tail -1)
size=$(du -sb "$dir/sft" | cut -f1)
python3 - "$cp_med" "$re_med" "$rss_max" "$largest" "$size" "$cps_med" "$rounds" "$fs_med" "${cp_s[*]}" "${restore_s[*]}" "${cps_s[*]}" "${fsync_s[*]}" <<'PY'
import sys
cp, re, rss_kb, largest, size = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
cps, rounds, fs = float(sys.argv[6]), sys.argv[7], float(sys.argv[8])
bound = 256e6 + largest
print(f"checkpoint {size/1e9:.2f} GB; medians of {rounds} rounds (seconds):")
print(f"  cp -r {cp:.2f}   restore {re:.2f}   cp -r && sync {cps:.2f}   restore --fsync {fs:.2f}")
print(f"  all rounds: cp -r [{sys.argv[9]}] restore [{sys.argv[10]}] cp&&sync [{sys.argv[11]}] restore --fsync [{sys.argv[12]}]")
print(f"restore / cp -r = {re/cp:.3f} (target <= 1.1); restore --fsync / (cp -r && sync) = {fs/cps:.3f}")
print(f"peak RSS {rss_kb/1024:.1f} MiB; bound 256 MB + largest restored tensor {largest/1e6:.1f} MB = {bound/1e6:.1f} MB "
      f"({'within' if rss_kb*1024 <= bound else 'OVER'})")
PY
rm -rf "$dir/restore_out"
