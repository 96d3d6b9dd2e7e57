// Encode throughput of qk::Tokenizer on one core: MB/s of input text, in thread CPU time (best of N
// passes, so other processes on a shared machine disturb it less). Not part of the CMake build yet;
// from the repository root, after building qk_tokenizer in build-tokenizer/:
//
//   g++ -O2 -std=c++20 -I src tools/tokenizer_bench/tokenizer_bench.cpp build-tokenizer/libqk_tokenizer.a \
//       build-tokenizer/libqk_util.a -lpcre2-8 -licuuc -lfmt -o /tmp/tokenizer_bench
//   /tmp/tokenizer_bench testdata/tokenizer/qwen2.json testdata/tokenizer/training_corpus.txt [copies] [passes]
//
// Prints three numbers: the first pass over the text (empty word cache), the best later pass over
// `copies` concatenated copies (warm cache), and the decode speed of the resulting ids.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <string>

#include "tokenizer/tokenizer.hpp"
#include "util/error.hpp"

namespace {

double thread_cpu_seconds() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s TOKENIZER_JSON TEXT_FILE [COPIES=200] [PASSES=3]\n", argv[0]);
    return 2;
  }
  try {
    std::ifstream in(argv[2], std::ios::binary);
    if (!in) qk::fail(qk::ErrorKind::Io, "{}: cannot open text file", argv[2]);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    int copies = argc > 3 ? std::atoi(argv[3]) : 200;
    int passes = argc > 4 ? std::atoi(argv[4]) : 3;
    std::string big;
    big.reserve(text.size() * static_cast<std::size_t>(copies));
    for (int i = 0; i < copies; ++i) big += text;

    auto tokenizer = qk::Tokenizer::from_file(argv[1]);
    double t0 = thread_cpu_seconds();
    auto first = tokenizer.encode(text);
    double cold = thread_cpu_seconds() - t0;
    double best = 1e30;
    std::vector<std::int32_t> ids;
    for (int p = 0; p < passes; ++p) {
      double start = thread_cpu_seconds();
      ids = tokenizer.encode(big);
      best = std::min(best, thread_cpu_seconds() - start);
    }
    double start = thread_cpu_seconds();
    std::string decoded = tokenizer.decode(ids);
    double decode_seconds = thread_cpu_seconds() - start;
    std::printf("%s on %s\n", argv[1], argv[2]);
    std::printf("  first pass, empty cache: %8.1f MB/s  (%zu bytes -> %zu ids)\n", text.size() / cold / 1e6, text.size(),
                first.size());
    std::printf("  warm, best of %d:         %8.1f MB/s  (%zu bytes -> %zu ids)\n", passes, big.size() / best / 1e6,
                big.size(), ids.size());
    std::printf("  decode:                  %8.1f MB/s of text\n", decoded.size() / decode_seconds / 1e6);
  } catch (const qk::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
