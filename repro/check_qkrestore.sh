#!/usr/bin/env bash
# Checks that the repairs evaluated on the GPU (repair.py patches, returned in stage D's patches.tar and
# unpacked into repro/work/patches) are bit-identical to what `qkrestore restore` writes.
# usage: repro/check_qkrestore.sh [path/to/qkrestore]   (CPU; a few seconds)
set -uo pipefail
cd "$(dirname "$0")/.."
Q=${1:-build-repro/qkrestore}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
status=0
check() {  # name sft [restore options]
  local name=$1 sft=$2; shift 2
  "$Q" restore --base models/base --sft "$sft" --out "$tmp/$name" -q "$@" || echo "note: qkrestore exited with $? after writing $name"
  python3 repro/make_patch.py "$sft" "$tmp/$name" "$tmp/$name.safetensors" > /dev/null
  python3 repro/make_patch.py --compare "$tmp/$name.safetensors" "repro/work/patches/$name.safetensors" || status=1
}
check cot_restore models/cot
check cot_q_only models/cot --tensors q_proj
check cot_k_only models/cot --tensors k_proj
check cot_v_only models/cot --tensors v_proj
exit $status
