// Parity with transformers: logits and greedy continuations of small random qwen3_next checkpoints,
// made by tools/refgen/engine/make_reference.py (transformers 5.17, fp32, CPU) and committed under
// testdata/engine/. Each reference JSON names its prompt, the positions whose logits are stored in the
// .logits.bin beside it, the 64-token greedy continuation and the decode steps whose logits are stored.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "engine/causal_lm.hpp"


namespace fs = std::filesystem;
using namespace qk::engine;

namespace {

const fs::path kData = fs::path(QK_SOURCE_DIR) / "testdata" / "engine";
constexpr float kTolerance = 1e-3f;  // max |logit difference|, fp32, issue 7

struct Reference {
  nlohmann::json json;
  std::vector<float> logits;  // [rows, vocab]
  std::size_t vocab;
  std::vector<std::int32_t> prompt, continuation;
};

Reference load_reference(const fs::path& file) {
  Reference r;
  std::ifstream in(file);
  r.json = nlohmann::json::parse(in);
  r.vocab = r.json["vocab_size"];
  r.prompt = r.json["prompt"].get<std::vector<std::int32_t>>();
  r.continuation = r.json["continuation"].get<std::vector<std::int32_t>>();
  const std::size_t rows = r.json["logits_rows"];
  r.logits.resize(rows * r.vocab);
  std::ifstream bin(file.parent_path() / r.json["logits_file"].get<std::string>(), std::ios::binary);
  bin.read(reinterpret_cast<char*>(r.logits.data()), static_cast<std::streamsize>(r.logits.size() * sizeof(float)));
  EXPECT_TRUE(bin.good()) << "short logits file for " << file;
  return r;
}

float max_abs_diff(const float* a, const float* b, std::size_t n) {
  float worst = 0.0f;
  for (std::size_t i = 0; i < n; ++i) worst = std::max(worst, std::fabs(a[i] - b[i]));
  return worst;
}

struct Case {
  std::string model, prompt;
};

std::vector<Case> cases() {
  std::vector<Case> out;
  for (const auto& dir : fs::directory_iterator(kData)) {
    if (!dir.is_directory()) continue;
    for (const auto& f : fs::directory_iterator(dir.path()))
      if (f.path().extension() == ".json" &&
          fs::exists(dir.path() / (f.path().stem().string() + ".logits.bin")))
        out.push_back({dir.path().filename().string(), f.path().stem().string()});
  }
  std::sort(out.begin(), out.end(), [](const Case& a, const Case& b) { return a.model + a.prompt < b.model + b.prompt; });
  return out;
}

// The checkpoint a reference belongs to: its own directory, or "model_dir" (relative to the repository
// root) for references of checkpoints kept elsewhere, such as the shipped models/.
fs::path model_dir_of(const Case& c, const Reference& ref) {
  if (ref.json.contains("model_dir")) return fs::path(QK_SOURCE_DIR) / ref.json["model_dir"].get<std::string>();
  return kData / c.model;
}

class Parity : public ::testing::TestWithParam<Case> {};

// Prefill the whole prompt in one forward (the chunked delta rule), compare the stored positions, then
// decode greedily token by token (the recurrent path and the KV cache) and compare tokens and logits.
TEST_P(Parity, PrefillLogitsAndGreedyContinuationMatchTransformers) {
  const Case& c = GetParam();
  const Reference ref = load_reference(kData / c.model / (c.prompt + ".json"));
  if (!fs::exists(model_dir_of(c, ref) / "config.json")) GTEST_SKIP() << model_dir_of(c, ref) << " is absent";
  auto model = load_causal_lm(model_dir_of(c, ref));
  ASSERT_EQ(model->info().vocab_size, ref.vocab);

  SequenceState state = model->new_sequence();
  const Segment seg{&state, ref.prompt};
  const std::vector<float> logits = model->forward({&seg, 1}, LogitsFor::AllTokens);
  const auto positions = ref.json["positions"].get<std::vector<std::size_t>>();
  float worst = 0.0f;
  for (std::size_t i = 0; i < positions.size(); ++i) {
    const float d = max_abs_diff(logits.data() + positions[i] * ref.vocab, ref.logits.data() + i * ref.vocab, ref.vocab);
    EXPECT_LE(d, kTolerance) << c.model << "/" << c.prompt << " position " << positions[i];
    worst = std::max(worst, d);
  }
  RecordProperty("prefill_max_abs_diff", std::to_string(worst));
  std::printf("%s/%s: %zu prompt tokens, prefill max |dlogit| = %.3g\n", c.model.c_str(), c.prompt.c_str(),
              ref.prompt.size(), worst);

  // Greedy decode, checking the stored decode-step logits on the way.
  const auto steps = ref.json["decode_steps"].get<std::vector<std::size_t>>();
  std::vector<std::int32_t> produced;
  std::vector<float> next(logits.end() - static_cast<std::ptrdiff_t>(ref.vocab), logits.end());
  float decode_worst = 0.0f;
  for (std::size_t step = 0; step < ref.continuation.size(); ++step) {
    const auto token = static_cast<std::int32_t>(std::max_element(next.begin(), next.end()) - next.begin());
    produced.push_back(token);
    if (step + 1 == ref.continuation.size()) break;
    const Segment one{&state, {&produced.back(), 1}};
    next = model->forward({&one, 1}, LogitsFor::LastToken);
    auto it = std::find(steps.begin(), steps.end(), step);
    if (it != steps.end() && produced == std::vector<std::int32_t>(ref.continuation.begin(), ref.continuation.begin() + step + 1)) {
      const std::size_t row = positions.size() + static_cast<std::size_t>(it - steps.begin());
      const float d = max_abs_diff(next.data(), ref.logits.data() + row * ref.vocab, ref.vocab);
      EXPECT_LE(d, kTolerance) << c.model << "/" << c.prompt << " decode step " << step;
      decode_worst = std::max(decode_worst, d);
    }
  }
  std::printf("%s/%s: decode max |dlogit| = %.3g\n", c.model.c_str(), c.prompt.c_str(), decode_worst);
  EXPECT_EQ(produced, ref.continuation) << c.model << "/" << c.prompt;
}

// The same prompt fed in three uneven pieces must give the same last-token logits: the recurrent state,
// conv history and KV cache carry across forward calls.
TEST_P(Parity, PromptInPiecesMatchesTransformers) {
  const Case& c = GetParam();
  const Reference ref = load_reference(kData / c.model / (c.prompt + ".json"));
  if (ref.prompt.size() < 8) GTEST_SKIP() << "prompt too short to split";
  if (!fs::exists(model_dir_of(c, ref) / "config.json")) GTEST_SKIP() << model_dir_of(c, ref) << " is absent";
  auto model = load_causal_lm(model_dir_of(c, ref));
  SequenceState state = model->new_sequence();
  const std::size_t n = ref.prompt.size(), a = n / 3 + 1, b = 2 * n / 3 + 5;
  std::vector<float> logits;
  for (auto [from, to] : {std::pair{std::size_t{0}, a}, {a, b}, {b, n}}) {
    const Segment seg{&state, std::span(ref.prompt).subspan(from, to - from)};
    logits = model->forward({&seg, 1}, LogitsFor::LastToken);
  }
  const auto positions = ref.json["positions"].get<std::vector<std::size_t>>();
  ASSERT_EQ(positions.back(), n - 1);
  EXPECT_LE(max_abs_diff(logits.data(), ref.logits.data() + (positions.size() - 1) * ref.vocab, ref.vocab), kTolerance);
}

INSTANTIATE_TEST_SUITE_P(Checkpoints, Parity, ::testing::ValuesIn(cases()),
                         [](const auto& info) { return info.param.model + "_" + info.param.prompt; });

}  // namespace
