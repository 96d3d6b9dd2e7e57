#!/usr/bin/env bash
# `qkrestore restore` side by side with `cp -r` in one run, in the three regimes users meet (issue 25;
# issues 3 and 17 before it):
#   page cache: a CACHE_GB Llama-shaped bf16 pair (every layer global: ~10% of the bytes restored)
#     whose inputs are in the page cache (read once, as after a download). Each output is removed
#     before the next run and nothing is synced in between: a user running restore twice in a row.
#     Target: restore <= 1.1 x `cp -r`.
#   disk-bound: a DISK_GB pair, more than the kernel lets sit dirty in memory, with `sync` (not timed)
#     before each run so that every run writes its whole output to the disk. Targets: restore <= 1.05 x
#     `cp -r`; restore --fsync <= 1.1 x `cp -r && sync`; peak RSS <= 256 MB + the largest restored tensor.
#   reflink: the CACHE_GB pair on a loop-mounted XFS made with reflink=1. `sync` before each run and
#     after it, and the blocks OUT took (statvfs before and after) against the bytes restore wrote.
#     Targets: OUT's new blocks <= restored bytes + 64 MB (exit status 1 otherwise: the check CI runs
#     where it can); time <= 0.5 x `cp -r --reflink=never`. Needs root, mkfs.xfs (xfsprogs) and a
#     loop device; skipped with a message elsewhere.
# Rounds alternate the tools, the order flipping every round; medians (and every round) are printed,
# with the load average, since the development machine is shared.
# Usage: bench/restore_vs_cp.sh [BENCH_DIR] [DISK_GB] [CACHE_GB]   (default /tmp/qkbench 8 2)
# Disk: about 2 x (CACHE_GB + DISK_GB) for the pairs (kept for the next run), 2 x DISK_GB of outputs
# while it runs, and an XFS image of 3 x CACHE_GB + 1 GB (removed at the end).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-/tmp/qkbench}
disk_gb=${2:-8}
cache_gb=${3:-2}
bin=${QKRESTORE:-$here/build/qkrestore}
rounds=${QK_BENCH_ROUNDS:-5}
disk_rounds=${QK_BENCH_DISK_ROUNDS:-3}
# Llama-7B-like proportions at a smaller hidden size; base holds random bytes like SFT, so that its
# Q/K rows cost a read like any real checkpoint's.
shape=(--family llama --hidden 2048 --heads 32 --kv-heads 8 --head-dim 64 --intermediate 5632 --shard-gb 0.5 --dense-base)
for regime in cache disk; do
  gb=$cache_gb; [ "$regime" = disk ] && gb=$disk_gb
  if [ ! -f "$dir/$regime/sft/model.safetensors.index.json" ]; then
    python3 "$here/bench/make_synthetic_checkpoint.py" "$dir/$regime" --gb "$gb" "${shape[@]}" >/dev/null
  fi
done
ram=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) * 1024 ))
cache_size=$(du -sb "$dir/cache/sft" | cut -f1)
if [ $((2 * cache_size)) -gt $((ram / 4)) ]; then
  echo "the page-cache pair (2 x $cache_size bytes) is over 1/4 of RAM ($ram): pass a smaller CACHE_GB" >&2
  exit 2
fi
results=$dir/results.tsv
: >"$results"
load() { cut -d' ' -f1-3 /proc/loadavg; }
echo "load average at the start: $(load)"

used_bytes() { python3 -c "import os, sys; s = os.statvfs(sys.argv[1]); print((s.f_blocks - s.f_bfree) * s.f_frsize)" "$1"; }

# measure REGIME TOOL OUT [--blocks FS] -- COMMAND...: runs COMMAND once, appends a line to the results:
# regime, tool, seconds, user, sys, peak RSS (KB), new bytes on FS (-1 when not asked).
measure() {
  local regime=$1 tool=$2 out=$3 fs=""
  shift 3
  if [ "$1" = --blocks ]; then fs=$2; shift 2; fi
  shift  # --
  rm -rf "$out"
  local before=0
  if [ -n "$fs" ]; then sync; before=$(used_bytes "$fs"); fi
  /usr/bin/time -f "%e %U %S %M" -o "$dir/time.txt" "$@" >/dev/null 2>"$dir/stderr.txt" || { cat "$dir/stderr.txt" >&2; exit 1; }
  local new=-1
  if [ -n "$fs" ]; then sync; new=$(( $(used_bytes "$fs") - before )); fi
  echo "$regime $tool $(cat "$dir/time.txt") $new" >>"$results"
}

restore() { "$bin" restore -q --base "$1/base" --sft "$1/sft" --out "$1/restore_out" "${@:2}"; }

# Verifies restore's output in pair directory $1 (restoring once more, not timed, if the last round
# removed it) and prints the sizes of what it restored: "restored_bytes largest_tensor_bytes".
verified_sizes() {
  rm -rf "$1/cp_out"
  [ -d "$1/restore_out" ] || restore "$1"
  "$bin" verify -q --base "$1/base" --sft "$1/sft" --out "$1/restore_out" >/dev/null
  python3 - "$1/restore_out" <<'PY'
import json, os, struct, sys
out = sys.argv[1]
prov = json.load(open(os.path.join(out, "qkrestore.json")))
sizes = []
for shard in prov["shards"]:
    with open(os.path.join(out, shard), "rb") as f:
        header = json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))
    for name, t in header.items():
        if name != "__metadata__" and prov["tensors"][name]["source"] != "sft":
            sizes.append(t["data_offsets"][1] - t["data_offsets"][0])
print(sum(sizes), max(sizes))
PY
  rm -rf "$1/restore_out"
}

# 1. Page cache: inputs read once; no sync between runs.
d=$dir/cache
sync  # the pair's own writing is done before the first round, as long after a download
cat "$d"/sft/* "$d"/base/* >/dev/null
for round in $(seq "$rounds"); do
  if [ $((round % 2)) = 1 ]; then order="cp restore"; else order="restore cp"; fi
  for tool in $order; do
    rm -rf "$d/cp_out" "$d/restore_out"  # one output at a time, as a user has
    if [ "$tool" = cp ]; then measure cache cp "$d/cp_out" -- cp -r "$d/sft" "$d/cp_out"
    else measure cache restore "$d/restore_out" -- restore "$d"; fi
  done
done
sizes=$(verified_sizes "$d"); read -r cache_restored cache_largest <<<"$sizes"

# 2. Disk-bound: sync (not timed) before each run.
d=$dir/disk
for round in $(seq "$disk_rounds"); do
  if [ $((round % 2)) = 1 ]; then order="cp restore cpsync fsync"; else order="fsync cpsync restore cp"; fi
  for tool in $order; do
    rm -rf "$d/cp_out" "$d/restore_out"
    sync
    case $tool in
      cp) measure disk cp "$d/cp_out" -- cp -r "$d/sft" "$d/cp_out" ;;
      cpsync) measure disk cp_sync "$d/cp_out" -- sh -c "cp -r '$d/sft' '$d/cp_out' && sync" ;;
      restore) measure disk restore "$d/restore_out" -- restore "$d" ;;
      fsync) measure disk restore_fsync "$d/restore_out" -- restore "$d" --fsync ;;
    esac
  done
done
sizes=$(verified_sizes "$d"); read -r disk_restored disk_largest <<<"$sizes"

# 3. Reflink: the page-cache pair on a loop-mounted XFS with reflink=1.
reflink_skip=""
x=$dir/xfs
cleanup_xfs() {
  if mountpoint -q "$x/mnt" 2>/dev/null; then umount "$x/mnt"; fi
  rm -rf "$x"
}
if [ "$(id -u)" != 0 ]; then reflink_skip="needs root to loop-mount an XFS image"
elif ! command -v mkfs.xfs >/dev/null; then reflink_skip="mkfs.xfs not installed (Debian xfsprogs; scripts/install-deps.sh)"
else
  trap cleanup_xfs EXIT
  mkdir -p "$x/mnt"
  truncate -s $(( 3 * cache_size + (1 << 30) )) "$x/image"
  if ! mkfs.xfs -q -m reflink=1 "$x/image" 2>"$dir/stderr.txt"; then reflink_skip="mkfs.xfs -m reflink=1 failed: $(head -1 "$dir/stderr.txt")"
  elif ! mount -o loop "$x/image" "$x/mnt" 2>"$dir/stderr.txt"; then reflink_skip="cannot loop-mount an image here: $(head -1 "$dir/stderr.txt")"
  fi
fi
if [ -z "$reflink_skip" ]; then
  m=$x/mnt
  cp -r --reflink=never "$dir/cache/sft" "$dir/cache/base" "$m/"
  cat "$m"/sft/* "$m"/base/* >/dev/null
  for round in $(seq "$rounds"); do
    if [ $((round % 2)) = 1 ]; then order="cp restore"; else order="restore cp"; fi
    for tool in $order; do
      rm -rf "$m/cp_out" "$m/restore_out"
      if [ "$tool" = cp ]; then measure reflink cp_never "$m/cp_out" --blocks "$m" -- cp -r --reflink=never "$m/sft" "$m/cp_out"
      else measure reflink restore "$m/restore_out" --blocks "$m" -- restore "$m"; fi
    done
  done
  sizes=$(verified_sizes "$m")
  cleanup_xfs
  trap - EXIT
fi
echo "load average at the end: $(load)"

python3 - "$results" "$cache_size" "$(du -sb "$dir/disk/sft" | cut -f1)" "$cache_restored" "$disk_restored" \
  "$(( cache_largest > disk_largest ? cache_largest : disk_largest ))" "$reflink_skip" <<'PY'
import statistics, sys
results, cache_size, disk_size, cache_restored, disk_restored, largest, reflink_skip = sys.argv[1:]
cache_size, disk_size, cache_restored, disk_restored, largest = map(int, (cache_size, disk_size, cache_restored, disk_restored, largest))
runs = {}
for line in open(results):
    regime, tool, wall, user, sys_, rss, new = line.split()
    runs.setdefault((regime, tool), []).append((float(wall), float(user) + float(sys_), int(rss), int(new)))

def median(regime, tool, field=0):
    return statistics.median(r[field] for r in runs[(regime, tool)])

def row(regime, tool):
    return f"{tool} {median(regime, tool):.2f} s (CPU {median(regime, tool, 1):.2f} s; rounds {' '.join(f'{r[0]:.2f}' for r in runs[(regime, tool)])})"

failed = []
def check(label, value, target):
    ok = value <= target
    if not ok: failed.append(label)
    return f"{value:.3f} (target <= {target}{'' if ok else ': MISSED'})"

print("medians of alternated rounds; CPU = user + system")
print(f"page cache ({cache_size / 1e9:.2f} GB, {cache_restored / 1e6:.0f} MB restored; no sync between runs):")
print(f"  {row('cache', 'cp')}\n  {row('cache', 'restore')}")
print(f"  restore / cp -r = {check('page cache', median('cache', 'restore') / median('cache', 'cp'), 1.1)}")
print(f"disk-bound ({disk_size / 1e9:.2f} GB, {disk_restored / 1e6:.0f} MB restored; sync before each run):")
for tool in ("cp", "restore", "cp_sync", "restore_fsync"): print(f"  {row('disk', tool)}")
print(f"  restore / cp -r = {check('disk-bound', median('disk', 'restore') / median('disk', 'cp'), 1.05)}")
print(f"  restore --fsync / (cp -r && sync) = {check('--fsync', median('disk', 'restore_fsync') / median('disk', 'cp_sync'), 1.1)}")
rss_kb = max(r[2] for key, rs in runs.items() if key[1].startswith("restore") for r in rs)
bound = 256e6 + largest
print(f"peak RSS of restore {rss_kb / 1024:.1f} MiB; bound 256 MB + largest restored tensor {largest / 1e6:.1f} MB = "
      f"{bound / 1e6:.1f} MB ({'within' if rss_kb * 1024 <= bound else 'OVER'})")
if rss_kb * 1024 > bound: failed.append("peak RSS")
if reflink_skip:
    print(f"reflink: SKIPPED ({reflink_skip})")
else:
    print(f"reflink (XFS, reflink=1, loop-mounted; {cache_restored / 1e6:.0f} MB restored; sync before and after each run):")
    for tool in ("cp_never", "restore"):
        news = [r[3] for r in runs[("reflink", tool)]]
        print(f"  {row('reflink', tool)}; new blocks {max(news) / 1e6:.1f} MB (largest of the rounds)")
    print(f"  restore / cp -r --reflink=never = {check('reflink time', median('reflink', 'restore') / median('reflink', 'cp_never'), 0.5)}")
    worst = max(r[3] for r in runs[("reflink", "restore")])
    print(f"  OUT's new blocks - restored bytes = {(worst - cache_restored) / 1e6:.1f} MB "
          f"(target <= 64 MB: {'met' if worst <= cache_restored + 64e6 else 'MISSED'})")
    if worst > cache_restored + 64e6:
        print("FAIL: restore on a reflink filesystem no longer shares SFT's blocks")
        sys.exit(1)
if failed: print("targets missed: " + ", ".join(failed))
PY
