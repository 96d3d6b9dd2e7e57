// Issue 5's target: a 128K-token NIAH-S2 prompt generated and sized in under 200 ms. Times the one-off
// set-up (tokenizer, essay haystack, its token index) apart from each prompt, then generates prompts
// of niah_single_2 at the target length and checks every one by tokenizing it in full (the sizing must
// be exact, not only fast).
//
//   build/bench/niah_prompt_bench [--tokenizer models/base] [--length 131072] [--samples 20]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "niah/data_files.hpp"
#include "niah/essay_haystack.hpp"
#include "niah/needle_values.hpp"
#include "niah/sample_generator.hpp"
#include "niah/task_spec.hpp"
#include "niah/token_counter.hpp"

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace qk::niah;
  CLI::App app("NIAH prompt generation and sizing time");
  std::string tokenizer = std::string(QK_SOURCE_DIR) + "/models/base";
  std::string data_dir = std::string(QK_SOURCE_DIR) + "/data/niah";
  int length = 131072, samples = 20;
  app.add_option("--tokenizer", tokenizer, "tokenizer.json or a model folder");
  app.add_option("--data-dir", data_dir, "adjectives.txt, nouns.txt, haystack-kjv.txt");
  app.add_option("--length", length, "target prompt length in tokens");
  app.add_option("--samples", samples, "prompts to generate");
  CLI11_PARSE(app, argc, argv);
  try {
    auto t = std::chrono::steady_clock::now();
    auto counter = load_tokenizer_counter(tokenizer);
    const double load_tokenizer = seconds_since(t);
    t = std::chrono::steady_clock::now();
    auto essay = EssayHaystack::load(data_dir + "/haystack-kjv.txt");
    auto words = WordList::load(data_dir + "/adjectives.txt", data_dir + "/nouns.txt");
    const double load_haystack = seconds_since(t);
    t = std::chrono::steady_clock::now();
    SampleGenerator generator(*counter, words, &essay, GeneratorOptions{});
    const double index_haystack = seconds_since(t);

    std::vector<double> per_prompt;
    int exact = 0, max_error = 0;
    for (int i = 0; i < samples; ++i) {
      SampleRequest request{&find_task("niah_single_2"), length, i, std::nullopt};
      t = std::chrono::steady_clock::now();
      Sample sample = generator.generate(request);
      per_prompt.push_back(seconds_since(t));
      // Ground truth: the whole prompt tokenized in one go, plus the answer budget.
      const int actual = static_cast<int>(counter->count(sample.input + sample.answer_prefix)) + GeneratorOptions{}.tokens_to_generate;
      exact += actual == sample.length;
      max_error = std::max(max_error, std::abs(actual - sample.length));
      if (actual > length) fmt::print(stderr, "sample {}: {} tokens exceed the target {}\n", i, actual, length);
    }
    std::vector<double> sorted = per_prompt;
    std::sort(sorted.begin(), sorted.end());
    const double median = sorted[sorted.size() / 2], worst = sorted.back();
    fmt::print("set-up, once per run: tokenizer {:.1f} ms, haystack + key lists {:.1f} ms, haystack token index {:.1f} ms\n",
               1e3 * load_tokenizer, 1e3 * load_haystack, 1e3 * index_haystack);
    fmt::print("niah_single_2 at {} tokens, {} prompts: median {:.1f} ms, slowest {:.1f} ms per prompt (target < 200 ms)\n", length,
               samples, 1e3 * median, 1e3 * worst);
    fmt::print("first prompt including the set-up: {:.1f} ms\n", 1e3 * (load_tokenizer + load_haystack + index_haystack + per_prompt[0]));
    fmt::print("sizing: {} of {} prompts counted exactly (largest error {} tokens) against a full tokenization\n", exact, samples,
               max_error);
    return exact == samples ? 0 : 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "niah_prompt_bench: {}\n", e.what());
    return 1;
  }
}
