#!/usr/bin/env bash
# Regenerates the NIAH data shipped in this folder from Debian packages, so its provenance is checkable:
#   adjectives.txt, nouns.txt  key words for "adjective-noun" needle keys (RULER uses wonderwords' lists,
#                              which we do not ship); from WordNet 3.0 (package wordnet-base, WordNet
#                              licence: free use, copy and redistribution with its notice, see
#                              /usr/share/doc/wordnet-base/copyright). Only lowercase single words of 3-12
#                              letters that SemCor tags often enough (cntlist.rev) to be familiar.
#   haystack-kjv.txt           public-domain prose haystack: the King James Version (1611, copyright long
#                              expired; package bible-kjv-text), Genesis to Esther and Matthew to Acts,
#                              one chapter per line, verse labels removed.
# Usage: data/niah/make-data.sh   (needs: apt-get install wordnet-base bible-kjv bible-kjv-text)
set -euo pipefail
cd "$(dirname "$0")"
export LC_ALL=C

# cntlist.rev lines: "lemma%pos:lexfile:id:head:headid sense_number tag_count"; pos 1 = noun, 3/5 = adjective.
awk '{ split($1, key, "%"); split(key[2], rest, ":"); pos = rest[1]; lemma = key[1]
       if (pos == 1) noun[lemma] += $3; else if (pos == 3 || pos == 5) adj[lemma] += $3 }
     END { for (w in noun) print "n", w, noun[w]; for (w in adj) print "a", w, adj[w] }' \
  /usr/share/wordnet/cntlist.rev |
  awk '$2 ~ /^[a-z]+$/ && length($2) >= 3 && length($2) <= 12' > /tmp/qk-wordnet-counts.$$
awk '$1 == "a" && $3 >= 5 { print $2 }' /tmp/qk-wordnet-counts.$$ | sort -u > adjectives.txt
awk '$1 == "n" && $3 >= 10 { print $2 }' /tmp/qk-wordnet-counts.$$ | sort -u > nouns.txt
rm -f /tmp/qk-wordnet-counts.$$

# `bible -l100000` prints a "Book N" header line per chapter, then "  V text" per verse, unwrapped.
dump() { bible -l100000 "$1" | sed -n 's/^ *[0-9]\{1,3\} \(.*\)$/\1/p; s/^[1-3]\{0,1\} \{0,1\}[A-Z][A-Za-z ]* [0-9]\{1,3\}$/@/p'; }
{ dump "Ge1:1-Es10:3"; dump "Mt1:1-Ac28:31"; } |
  awk '$0 == "@" { if (NR > 1) printf "\n"; first = 1; next } { printf "%s%s", (first ? "" : " "), $0; first = 0 } END { printf "\n" }' \
  > haystack-kjv.txt
wc -l -c adjectives.txt nouns.txt haystack-kjv.txt
