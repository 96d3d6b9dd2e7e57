#!/usr/bin/env bash
# Builds the compact pre-training sources sent to the GPU machine (repro/data/, ~3 MB gzipped):
#   prose.txt.gz  public-domain English prose from Debian packages, one paragraph per line:
#                 King James Bible (bible-kjv-text), The Jargon File (jargon-text),
#                 The Devil's Dictionary (dict-devil). The packages are downloaded and unpacked
#                 into a temporary folder; nothing is installed.
#   words.txt.gz  adjectives and nouns from WordNet (wordnet-base, already a project dependency)
#                 for training keys ("adjective-noun"), one "a word" / "n word" per line.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/data"; mkdir -p "$out"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
apt-get download bible-kjv bible-kjv-text jargon-text dict-devil >/dev/null 2>&1 || {
  apt-get update -qq && apt-get download bible-kjv bible-kjv-text jargon-text dict-devil >/dev/null; }
for f in *.deb; do dpkg -x "$f" root; done
root/usr/bin/bible -p root/usr/lib "gen1:1-rev22:21" > kjv.txt
zcat root/usr/share/doc/jargon-text/jargon.txt.gz > jargon.txt
zcat root/usr/share/dictd/devil.dict.dz > devil.txt
python3 "$here/normalize_prose.py" kjv.txt jargon.txt devil.txt | gzip -9 > "$out/prose.txt.gz"
python3 "$here/wordnet_words.py" /usr/share/wordnet | gzip -9 > "$out/words.txt.gz"
ls -l "$out"
