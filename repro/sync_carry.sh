#!/usr/bin/env bash
# Copies what the device calls need into the session checkout's ignored .device-carry/repro (the device
# tool sends that checkout, not this worktree). Run here before each call; carry ".device-carry/repro".
set -e
src=$(cd "$(dirname "$0")/.." && pwd)
dst=${1:-/work/main/.device-carry/repro}
mkdir -p "$dst"
rm -rf "$dst"; mkdir -p "$dst"
tar -C "$src" --exclude=repro/work --exclude=repro/results --exclude=__pycache__ -cf - repro data tools | tar -C "$dst" -xf -
# what earlier machines measured (choice, kernel check, evaluation cells): the seed stage resumes from it
mkdir -p "$dst/repro/results" && cp -r "$src/repro/results/v4" "$dst/repro/results/v4"
du -sh "$dst"
