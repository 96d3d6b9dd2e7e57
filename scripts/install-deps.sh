#!/usr/bin/env bash
# Installs the Debian 12 packages qkrestore needs to build, test and run its demo.
# Idempotent: packages already present are skipped by apt-get.
set -euo pipefail
packages=(
  build-essential cmake pkg-config ccache
  ninja-build          # the build tool scripts/test.sh asks CMake for: compiles of a target start before its dependencies link
  nlohmann-json3-dev   # JSON: safetensors headers, config.json, tokenizer.json, reports
  libsimdjson-dev      # JSON at GB/s: `eval score` re-reads millions of prediction lines
  libcli11-dev         # command-line parsing
  libfmt-dev           # formatting of messages and tables
  libeigen3-dev        # SVD / polar factors for QK-Pro and diagnostics
  libpcre2-dev         # tokenizer pre-tokenizer regexes (Unicode classes, lookahead)
  libicu-dev           # tokenizer: NFC/NFKC normalizers and Unicode character properties
  libcpp-httplib-dev   # OpenAI-compatible client and `serve`
  libssl-dev           # SHA-256 (libcrypto) for provenance
  libopenblas-dev      # sgemm for the embedded engine's prefill
  libgtest-dev libgmock-dev libbenchmark-dev
  wordnet-base         # adjective/noun lists for NIAH keys
  chromium             # NIAH report test: renders the HTML report headless (tests/niah)
  clang libclang-rt-14-dev  # libFuzzer and the sanitizer runtimes for scripts/fuzz.sh (docs/hardening.md)
  xfsprogs             # mkfs.xfs: the reflink test and bench make a loop-mounted XFS with reflink=1 (docs/restore.md)
  time                 # GNU time: wall, CPU and peak RSS in bench/restore_vs_cp.sh
  python3-numpy python3-tqdm  # bench/llama only: llama.cpp's own gguf writer (gguf-py) needs them
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# node + npm run the reference clients some tests use (tests/npm: the official openai client against
# `serve`, @huggingface/jinja for the chat templates; installed by scripts/test.sh with npm ci); a machine
# that already has them, from any source, keeps its own.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then missing+=(nodejs npm); fi
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
