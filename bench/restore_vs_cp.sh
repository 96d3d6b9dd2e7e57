#!/usr/bin/env bash
# Issue 3's and issue 17's performance targets, measured in one run on one disk, in two regimes:
#   cached:     a checkpoint under 1/4 of RAM, read twice first, so that every input byte comes from
#               the page cache (a model just downloaded or just written): restore <= 1.1 x `cp -r`;
#   disk-bound: a checkpoint larger than the disk's write-back allowance (as issue 3 measured):
#               restore <= 1.1 x `cp -r`, restore --fsync vs `cp -r && sync`, and
#               peak RSS <= 256 MB + the largest restored tensor (GNU time's "Maximum resident set size").
# Rounds alternate the tools, with `sync` before each (not timed), so neither inherits the other's
# dirty pages; medians are reported.
# Usage: bench/restore_vs_cp.sh [BENCH_DIR] [DISK_GB] [CACHED_GB]   (default /tmp/qkbench, 8, 2.6).
# Needs ~DISK_GB + CACHED_GB + 2 x DISK_GB free.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-/tmp/qkbench}
disk_gb=${2:-8}
cached_gb=${3:-2.6}
bin=${QKRESTORE:-$here/build/qkrestore}
rounds=${QK_BENCH_ROUNDS:-3}
command -v /usr/bin/time >/dev/null || apt-get install -y -qq time >/dev/null
for regime in disk cached; do
  gb=$disk_gb; [ "$regime" = cached ] && gb=$cached_gb
  if [ ! -f "$dir/$regime/sft/model.safetensors.index.json" ]; then
    python3 "$here/bench/make_synthetic_checkpoint.py" "$dir/$regime" --gb "$gb" --shard-gb 0.5 >/dev/null
  fi
done
ram=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) * 1024 ))
cached_size=$(du -sb "$dir/cached/sft" | cut -f1)  # base is sparse: it holds only zeros
if [ "$cached_size" -gt $((ram / 4)) ]; then
  echo "the cached checkpoint ($cached_size bytes) is over 1/4 of RAM ($ram): pass a smaller CACHED_GB" >&2
  exit 2
fi
sync

measure() {  # prints "seconds max_rss_kb"
  /usr/bin/time -f "%e %M" -o "$dir/time.txt" "$@" >/dev/null 2>&1
  cat "$dir/time.txt"
}
median() { printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"; }

# One regime: alternated rounds of cp -r and restore (and, disk-bound, their durable forms).
run_regime() {
  local d=$1 durable=$2
  cp_s=() restore_s=() cps_s=() fsync_s=() restore_rss=()
  for round in $(seq "$rounds"); do
    rm -rf "$d/cp_out" "$d/restore_out"; sync
    read -r s _ < <(measure cp -r "$d/sft" "$d/cp_out"); cp_s+=("$s")
    rm -rf "$d/cp_out"; sync
    read -r s rss < <(measure "$bin" restore -q --base "$d/base" --sft "$d/sft" --out "$d/restore_out"); restore_s+=("$s"); restore_rss+=("$rss")
    [ "$durable" = yes ] || continue
    rm -rf "$d/restore_out"; sync
    read -r s _ < <(measure sh -c "cp -r '$d/sft' '$d/cp_out' && sync"); cps_s+=("$s")
    rm -rf "$d/cp_out"; sync
    read -r s rss < <(measure "$bin" restore -q --fsync --base "$d/base" --sft "$d/sft" --out "$d/restore_out"); fsync_s+=("$s"); restore_rss+=("$rss")
  done
  sync
  "$bin" verify -q --base "$d/base" --sft "$d/sft" --out "$d/restore_out"
}

# Cached: every input page resident before the first round (read twice: the second read finds them all).
for pass in 1 2; do cat "$dir/cached/sft/"* "$dir/cached/base/"* >/dev/null; done
run_regime "$dir/cached" no
c_size=$(du -sb "$dir/cached/sft" | cut -f1)
c_cp=$(median "${cp_s[@]}"); c_re=$(median "${restore_s[@]}"); c_all_cp="${cp_s[*]}"; c_all_re="${restore_s[*]}"
rm -rf "$dir/cached/restore_out"

run_regime "$dir/disk" yes
largest=$(python3 - "$dir/disk/restore_out/qkrestore.json" "$dir/disk/sft/model.safetensors.index.json" <<'PY'
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
d_size=$(du -sb "$dir/disk/sft" | cut -f1)
d_cp=$(median "${cp_s[@]}"); d_cps=$(median "${cps_s[@]}"); d_re=$(median "${restore_s[@]}"); d_fs=$(median "${fsync_s[@]}")
rss_max=$(printf '%s\n' "${restore_rss[@]}" | sort -n | tail -1)
python3 - "$rounds" "$c_size" "$c_cp" "$c_re" "$c_all_cp" "$c_all_re" "$d_size" "$d_cp" "$d_re" "$d_cps" "$d_fs" \
  "${cp_s[*]}" "${restore_s[*]}" "${cps_s[*]}" "${fsync_s[*]}" "$rss_max" "$largest" <<'PY'
import sys
a = sys.argv[1:]
rounds, c_size, c_cp, c_re = a[0], int(a[1]), float(a[2]), float(a[3])
d_size, d_cp, d_re, d_cps, d_fs = int(a[6]), float(a[7]), float(a[8]), float(a[9]), float(a[10])
rss_kb, largest = int(a[15]), int(a[16])
print(f"medians of {rounds} alternated rounds (seconds)")
print(f"cached ({c_size/1e9:.2f} GB, inputs in the page cache): cp -r {c_cp:.2f}  restore {c_re:.2f}  "
      f"restore / cp -r = {c_re/c_cp:.3f} (target <= 1.1)")
print(f"  all rounds: cp -r [{a[4]}] restore [{a[5]}]")
print(f"disk-bound ({d_size/1e9:.2f} GB): cp -r {d_cp:.2f}  restore {d_re:.2f}  restore / cp -r = {d_re/d_cp:.3f} (target <= 1.1); "
      f"cp -r && sync {d_cps:.2f}  restore --fsync {d_fs:.2f}  ratio {d_fs/d_cps:.3f}")
print(f"  all rounds: cp -r [{a[11]}] restore [{a[12]}] cp&&sync [{a[13]}] restore --fsync [{a[14]}]")
bound = 256e6 + largest
print(f"peak RSS {rss_kb/1024:.1f} MiB; bound 256 MB + largest restored tensor {largest/1e6:.1f} MB = {bound/1e6:.1f} MB "
      f"({'within' if rss_kb*1024 <= bound else 'OVER'})")
PY
rm -rf "$dir/disk/restore_out"
