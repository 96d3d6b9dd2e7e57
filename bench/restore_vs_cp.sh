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
# with the load average, since the development machine is shared. Each ratio is also given per round
# (a tool against its baseline in the same round) as the median of those ratios with its 95% interval
# (order statistics: no assumption on the noise), which says whether a round-to-round spread larger
# than the target's margin still lets a run decide it.
# Usage: bench/restore_vs_cp.sh [BENCH_DIR] [DISK_GB] [CACHE_GB]   (default /tmp/qkbench 8 2)
#   QKRESTORE=BIN (default build/qkrestore); QKRESTORE_OLD=BIN adds an older binary to every round;
#   QK_BENCH_ROUNDS (page cache and reflink, default 5), QK_BENCH_DISK_ROUNDS (default 5);
#   QK_BENCH_REGIMES (default "cache disk reflink"): the regimes to run.
# Disk: about 2 x (CACHE_GB + DISK_GB) for the pairs (kept for the next run), 2 x DISK_GB of outputs
# while it runs, and an XFS image of 3 x CACHE_GB + 1 GB (removed at the end).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-/tmp/qkbench}
disk_gb=${2:-8}
cache_gb=${3:-2}
bin=${QKRESTORE:-$here/build/qkrestore}
old=${QKRESTORE_OLD:-}  # an older binary, measured in the same rounds (before/after)
rounds=${QK_BENCH_ROUNDS:-5}
disk_rounds=${QK_BENCH_DISK_ROUNDS:-5}
regimes=" ${QK_BENCH_REGIMES:-cache disk reflink} "
wanted() { [[ $regimes == *" $1 "* ]]; }
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
# XFS frees a removed file's blocks in the background: after a removal, wait until the count holds still.
settled_used_bytes() {
  local now last=-1
  sync
  for _ in $(seq 50); do
    now=$(used_bytes "$1")
    [ "$now" = "$last" ] && break
    last=$now
    sleep 0.2
  done
  echo "$now"
}

# measure REGIME TOOL [--blocks FS] -- COMMAND...: runs COMMAND once and appends to the results: regime,
# tool, seconds, user, sys, peak RSS (KB), and the bytes FS's used blocks grew by (-1 when not asked).
measure() {
  local regime=$1 tool=$2 fs=""
  shift 2
  if [ "$1" = --blocks ]; then fs=$2; shift 2; fi
  shift  # --
  local before=0 new=-1
  if [ -n "$fs" ]; then before=$(settled_used_bytes "$fs"); fi
  /usr/bin/time -f "%e %U %S %M" -o "$dir/time.txt" "$@" >/dev/null 2>"$dir/stderr.txt" || { cat "$dir/stderr.txt" >&2; exit 1; }
  if [ -n "$fs" ]; then sync; new=$(( $(used_bytes "$fs") - before )); fi
  echo "$regime $tool $(cat "$dir/time.txt") $new" >>"$results"
}

# run_rounds REGIME DIR MODE ROUNDS TOOL...: alternated rounds of the tools on the pair in DIR, the order
# reversed every other round, one output at a time (the others removed first, as a user has one).
# MODE: cache (nothing between runs), sync (`sync` before each run, not timed), blocks (sync, and the
# new blocks OUT took, measured after a sync).
run_rounds() {
  local regime=$1 d=$2 mode=$3 n=$4
  shift 4
  local tools=("$@") order cmd blocks=()
  [ "$mode" = blocks ] && blocks=(--blocks "$d")
  for round in $(seq "$n"); do
    order=("${tools[@]}")
    if [ $((round % 2)) = 0 ]; then order=(); for ((i = ${#tools[@]} - 1; i >= 0; i--)); do order+=("${tools[i]}"); done; fi
    for tool in "${order[@]}"; do
      case $tool in
        cp) cmd=(cp -r "$d/sft" "$d/out_$tool") ;;
        cp_never) cmd=(cp -r --reflink=never "$d/sft" "$d/out_$tool") ;;
        cp_sync) cmd=(sh -c "cp -r '$d/sft' '$d/out_$tool' && sync") ;;
        restore | old) cmd=("$(binary "$tool")" restore -q --base "$d/base" --sft "$d/sft" --out "$d/out_$tool") ;;
        restore_fsync | old_fsync) cmd=("$(binary "$tool")" restore -q --fsync --base "$d/base" --sft "$d/sft" --out "$d/out_$tool") ;;
      esac
      rm -rf "$d"/out_*
      [ "$mode" = cache ] || sync
      measure "$regime" "$tool" "${blocks[@]}" -- "${cmd[@]}"
    done
  done
}
binary() { case $1 in old*) echo "$old" ;; *) echo "$bin" ;; esac; }
with_old() { for t in "$@"; do echo "$t"; done; [ -z "$old" ] || for t in "$@"; do case $t in restore*) echo "old${t#restore}" ;; esac; done; }

# Restores the pair in directory $1 once more (not timed), verifies the output and prints the sizes of
# what it restored: "restored_bytes largest_tensor_bytes".
verified_sizes() {
  rm -rf "$1"/out_*
  "$bin" restore -q --base "$1/base" --sft "$1/sft" --out "$1/out_restore"
  "$bin" verify -q --base "$1/base" --sft "$1/sft" --out "$1/out_restore" >/dev/null
  python3 - "$1/out_restore" <<'PY'
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
  rm -rf "$1/out_restore"
}

# 1. Page cache: inputs read once; no sync between runs.
cache_restored=0 cache_largest=0 disk_restored=0 disk_largest=0
if wanted cache; then
  d=$dir/cache
  sync  # the pair's own writing is done before the first round, as long after a download
  cat "$d"/sft/* "$d"/base/* >/dev/null
  mapfile -t tools < <(with_old cp restore)
  run_rounds cache "$d" cache "$rounds" "${tools[@]}"
  sizes=$(verified_sizes "$d"); read -r cache_restored cache_largest <<<"$sizes"
fi

# 2. Disk-bound: sync (not timed) before each run.
if wanted disk; then
  d=$dir/disk
  mapfile -t tools < <(with_old cp restore cp_sync restore_fsync)
  run_rounds disk "$d" sync "$disk_rounds" "${tools[@]}"
  sizes=$(verified_sizes "$d"); read -r disk_restored disk_largest <<<"$sizes"
fi

# 3. Reflink: the page-cache pair on a loop-mounted XFS with reflink=1.
reflink_skip=""
x=$dir/xfs
cleanup_xfs() {
  if mountpoint -q "$x/mnt" 2>/dev/null; then umount "$x/mnt"; fi
  rm -rf "$x"
}
if ! wanted reflink; then reflink_skip="not asked (QK_BENCH_REGIMES)"
elif [ "$(id -u)" != 0 ]; then reflink_skip="needs root to loop-mount an XFS image"
elif ! command -v mkfs.xfs >/dev/null; then reflink_skip="mkfs.xfs not installed (Debian xfsprogs; scripts/install-deps.sh)"
else
  trap cleanup_xfs EXIT
  mkdir -p "$x/mnt"
  rm -f "$x/image"  # a run killed before its cleanup leaves its image (mkfs.xfs then refuses it)
  truncate -s $(( 3 * cache_size + (1 << 30) )) "$x/image"
  if ! mkfs.xfs -q -f -m reflink=1 "$x/image" 2>"$dir/stderr.txt"; then reflink_skip="mkfs.xfs -m reflink=1 failed: $(head -1 "$dir/stderr.txt")"
  elif ! mount -o loop "$x/image" "$x/mnt" 2>"$dir/stderr.txt"; then reflink_skip="cannot loop-mount an image here: $(head -1 "$dir/stderr.txt")"
  fi
fi
if [ -z "$reflink_skip" ]; then
  m=$x/mnt
  cp -r --reflink=never "$dir/cache/sft" "$dir/cache/base" "$m/"
  cat "$m"/sft/* "$m"/base/* >/dev/null
  mapfile -t tools < <(with_old cp_never restore)
  run_rounds reflink "$m" blocks "$rounds" "${tools[@]}"
  sizes=$(verified_sizes "$m"); read -r cache_restored cache_largest <<<"$sizes"
  cleanup_xfs
  trap - EXIT
fi
echo "load average at the end: $(load)"

python3 - "$results" "$cache_size" "$(du -sb "$dir/disk/sft" | cut -f1)" "$cache_restored" "$disk_restored" \
  "$(( cache_largest > disk_largest ? cache_largest : disk_largest ))" "$reflink_skip" <<'PY'
import math, statistics, sys
results, cache_size, disk_size, cache_restored, disk_restored, largest, reflink_skip = sys.argv[1:]
cache_size, disk_size, cache_restored, disk_restored, largest = map(int, (cache_size, disk_size, cache_restored, disk_restored, largest))
runs = {}
for line in open(results):
    regime, tool, wall, user, sys_, rss, new = line.split()
    runs.setdefault((regime, tool), []).append((float(wall), float(user) + float(sys_), int(rss), int(new)))
has_old = any(tool.startswith("old") for _, tool in runs)
failed = []

def median(regime, tool, field=0):
    return statistics.median(r[field] for r in runs[(regime, tool)])

def show(regime, tool):
    rs = runs[(regime, tool)]
    text = f"  {tool:14} {median(regime, tool):6.2f} s  CPU {median(regime, tool, 1):5.2f} s  rounds {' '.join(f'{r[0]:.2f}' for r in rs)}"
    if rs[0][3] >= 0: text += f"  new blocks {max(r[3] for r in rs) / 1e6:.1f} MB (largest of the rounds)"
    print(text)

def median_interval(values):
    """The median and its 95% interval from order statistics: [x(k), x(n+1-k)] with the largest k for which
    P(Binomial(n, 1/2) < k) <= 2.5%; with 5 values or fewer no such k exists and the range is given."""
    xs, n = sorted(values), len(values)
    k, below = 0, 0.0
    while k < n and below + math.comb(n, k) / 2**n <= 0.025:
        below += math.comb(n, k) / 2**n
        k += 1
    return statistics.median(xs), xs[max(k, 1) - 1], xs[n - max(k, 1)]

def ratio(label, regime, tool, baseline, target):
    value = median(regime, tool) / median(regime, baseline)
    per_round = [a[0] / b[0] for a, b in zip(runs[(regime, tool)], runs[(regime, baseline)])]
    mid, low, high = median_interval(per_round)
    line = f"  {tool} / {baseline} = {value:.3f}; per round {mid:.3f} [{low:.3f}, {high:.3f}]"
    if tool.startswith("restore"):
        ok = value <= target
        if not ok: failed.append(label)
        decided = "" if (high <= target or low > target) else "; the interval holds the target: this run does not decide it"
        line += f" (target <= {target}{'' if ok else ': MISSED'}{decided})"
    print(line)

def regime(name, title, pairs):
    if not any(r == name for (r, _) in runs): return
    print(title)
    tools = [t for (r, t) in runs if r == name]
    for tool in tools: show(name, tool)
    for label, tool, baseline, target in pairs:
        ratio(label, name, tool, baseline, target)
        old = "old" + tool[len("restore"):]
        if has_old: ratio(label, name, old, baseline, target)

print("medians of alternated rounds; CPU = user + system (median)" + ("; old = QKRESTORE_OLD" if has_old else ""))
regime("cache", f"page cache ({cache_size / 1e9:.2f} GB, {cache_restored / 1e6:.0f} MB restored; inputs cached, no sync between runs):",
       [("page cache", "restore", "cp", 1.1)])
regime("disk", f"disk-bound ({disk_size / 1e9:.2f} GB, {disk_restored / 1e6:.0f} MB restored; sync before each run):",
       [("disk-bound", "restore", "cp", 1.05), ("--fsync", "restore_fsync", "cp_sync", 1.1)])
rss_kb = max(r[2] for (_, tool), rs in runs.items() if tool.startswith("restore") for r in rs)
bound = 256e6 + largest
print(f"peak RSS of restore {rss_kb / 1024:.1f} MiB; bound 256 MB + largest restored tensor {largest / 1e6:.1f} MB = "
      f"{bound / 1e6:.1f} MB ({'within' if rss_kb * 1024 <= bound else 'OVER'})")
if has_old:
    print(f"peak RSS of old {max(r[2] for (_, tool), rs in runs.items() if tool.startswith('old') for r in rs) / 1024:.1f} MiB")
if rss_kb * 1024 > bound: failed.append("peak RSS")
shared = True
if reflink_skip:
    print(f"reflink: SKIPPED ({reflink_skip})")
else:
    regime("reflink", f"reflink (XFS, reflink=1, loop-mounted; {cache_restored / 1e6:.0f} MB restored; sync before and after each run):",
           [("reflink time", "restore", "cp_never", 0.5)])
    worst = max(r[3] for r in runs[("reflink", "restore")])
    shared = worst <= cache_restored + 64e6
    print(f"  restore's OUT: new blocks - restored bytes = {(worst - cache_restored) / 1e6:.1f} MB (target <= 64 MB: {'met' if shared else 'MISSED'})")
if failed: print("targets missed: " + ", ".join(failed))
if not shared:
    print("FAIL: restore on a reflink filesystem no longer shares SFT's blocks")
    sys.exit(1)
PY
