"""Writes the tensors in which a repaired model differs from its SFT model as one small safetensors file.

Why: repaired models made here by `qkrestore` are full checkpoints (12+ MB each); the GPU machine
only receives 64 MB per call. A patch (the changed Q/K rows of two layers: < 1 MB) plus the SFT
checkpoint reproduces the repaired model bit for bit (evaluate.py: NAME=SFT_DIR+PATCH). Pure Python
(no numpy), so it runs on the CPU machine where qkrestore runs.

    python3 repro/make_patch.py models/cot repaired/cot_restore repro/patches/cot_restore.safetensors
    python3 repro/make_patch.py --compare a.safetensors b.safetensors   # same tensors, same bytes?
"""
import glob
import json
import os
import struct
import sys


def read_safetensors_dir(d):
    """name -> (dtype, shape, raw bytes) for every tensor of every *.safetensors file in d."""
    tensors = read_safetensors_dir_files(sorted(glob.glob(os.path.join(d, "*.safetensors"))))
    if not tensors:
        raise FileNotFoundError(f"{d}: no *.safetensors files")
    return tensors


def read_safetensors_dir_files(paths):
    tensors = {}
    for path in paths:
        with open(path, "rb") as f:
            n = struct.unpack("<Q", f.read(8))[0]
            header = json.loads(f.read(n))
            base = 8 + n
            for name, info in header.items():
                if name == "__metadata__":
                    continue
                a, b = info["data_offsets"]
                f.seek(base + a)
                tensors[name] = (info["dtype"], info["shape"], f.read(b - a))
    return tensors


def write_safetensors(path, tensors, metadata):
    header, offset, blobs = {"__metadata__": metadata}, 0, []
    for name in sorted(tensors):
        dtype, shape, raw = tensors[name]
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for raw in blobs:
            f.write(raw)


def main(sft_dir, repaired_dir, out_path):
    sft, rep = read_safetensors_dir(sft_dir), read_safetensors_dir(repaired_dir)
    if set(sft) != set(rep):
        raise ValueError(f"{repaired_dir}: tensor names differ from {sft_dir}: "
                         f"missing {sorted(set(sft) - set(rep))[:5]}, extra {sorted(set(rep) - set(sft))[:5]}")
    changed = {n: rep[n] for n in rep if rep[n] != sft[n]}
    os.makedirs(os.path.dirname(out_path) or ".", exist_ok=True)
    write_safetensors(out_path, changed, {"base": os.path.basename(sft_dir.rstrip("/")),
                                          "source": os.path.basename(repaired_dir.rstrip("/"))})
    print(f"{out_path}: {len(changed)} of {len(rep)} tensors differ: {sorted(changed)}")


def compare(path_a, path_b):
    """Exit status 0 when two patch files hold the same tensors with identical bytes."""
    a = read_safetensors_dir_files([path_a])
    b = read_safetensors_dir_files([path_b])
    same = set(a) == set(b) and all(a[n] == b[n] for n in a)
    print(f"{path_a} vs {path_b}: {'bit-identical' if same else 'DIFFERENT'} ({len(a)} vs {len(b)} tensors)")
    return 0 if same else 1


if __name__ == "__main__":
    if sys.argv[1] == "--compare":
        sys.exit(compare(sys.argv[2], sys.argv[3]))
    main(*sys.argv[1:4])
