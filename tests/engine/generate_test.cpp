// Generation on the random test checkpoint: batching, stop tokens, token budgets, sampling; and the
// loader's errors for what the engine does not run.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "engine/causal_lm.hpp"
#include "engine/generate.hpp"
#include "engine/qwen3_next_config.hpp"
#include "util/error.hpp"

namespace fs = std::filesystem;
using namespace qk::engine;

namespace {

const fs::path kModel = fs::path(QK_SOURCE_DIR) / "testdata" / "engine" / "moe_shared";

std::vector<std::int32_t> prompt_of(int seed, std::size_t n) {
  std::vector<std::int32_t> p(n);
  for (std::size_t i = 0; i < n; ++i) p[i] = static_cast<std::int32_t>((seed * 131 + i * 37) % 512);
  return p;
}

TEST(Generate, BatchedDecodingEqualsOneSequenceAtATime) {
  auto model = load_causal_lm(kModel);
  std::vector<GenerationRequest> requests;
  for (int i = 0; i < 5; ++i) {
    GenerationRequest r{prompt_of(i, 20 + 13 * i), {}};
    r.options.max_tokens = 12 + i;
    requests.push_back(r);
  }
  GenerationLimits limits;
  limits.max_batch = 3;       // two batches, the second smaller
  limits.prefill_chunk = 16;  // prompts cross chunk boundaries
  const auto together = generate_batch(*model, requests, limits);
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const auto alone = generate(*model, requests[i]);
    EXPECT_EQ(together[i].tokens, alone.tokens) << i;
    EXPECT_EQ(together[i].tokens.size(), requests[i].options.max_tokens);
    EXPECT_EQ(together[i].finish, FinishReason::Length);
    EXPECT_EQ(together[i].prompt_tokens, requests[i].prompt.size());
  }
}

TEST(Generate, StopTokenEndsGenerationAndIsNotReturned) {
  auto model = load_causal_lm(kModel);
  GenerationRequest r{prompt_of(9, 30), {}};
  r.options.max_tokens = 20;
  const auto free_run = generate(*model, r);
  ASSERT_EQ(free_run.tokens.size(), 20u);
  r.options.stop_tokens = {free_run.tokens[5]};
  const auto stopped = generate(*model, r);
  const auto first = std::find(free_run.tokens.begin(), free_run.tokens.end(), free_run.tokens[5]);
  EXPECT_EQ(stopped.tokens, std::vector<std::int32_t>(free_run.tokens.begin(), first));
  EXPECT_EQ(stopped.finish, FinishReason::Stop);
  r.options.max_tokens = 0;
  EXPECT_TRUE(generate(*model, r).tokens.empty());
}

TEST(Generate, SamplingIsSeededAndTopKOneIsGreedy) {
  auto model = load_causal_lm(kModel);
  GenerationRequest r{prompt_of(3, 25), {}};
  r.options.max_tokens = 16;
  const auto greedy = generate(*model, r);
  r.options.temperature = 1.5f;
  r.options.seed = 11;
  const auto a = generate(*model, r), b = generate(*model, r);
  EXPECT_EQ(a.tokens, b.tokens);
  r.options.seed = 12;
  EXPECT_NE(generate(*model, r).tokens, a.tokens);  // 16 draws at T=1.5 over 512 tokens: equal only by accident
  r.options.top_k = 1;
  EXPECT_EQ(generate(*model, r).tokens, greedy.tokens);
}

TEST(Generate, PickTokenHonoursTopP) {
  const std::vector<float> logits = {0.0f, 5.0f, 4.9f, -3.0f};
  SamplingOptions o;
  o.temperature = 1.0f;
  o.top_p = 0.5f;  // token 1 alone holds more than half the mass
  std::uint64_t rng = 1;
  for (int i = 0; i < 50; ++i) EXPECT_EQ(pick_token(logits, o, rng), 1);
  o.top_p = 1.0f;
  std::set<std::int32_t> seen;
  for (int i = 0; i < 200; ++i) seen.insert(pick_token(logits, o, rng));
  EXPECT_TRUE(seen.count(2));
}

TEST(Loader, UnsupportedFamilyAndBadConfigsFailClearly) {
  MemoryWeights none;
  try {
    make_causal_lm({{"model_type", "llama"}}, none);
    FAIL() << "llama accepted";
  } catch (const qk::Error& e) {
    EXPECT_EQ(e.kind(), qk::ErrorKind::Unsupported);
    EXPECT_NE(std::string(e.what()).find("qwen3_next"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_qwen3_next_config({{"num_hidden_layers", 2}, {"layer_types", {"linear_attention"}}}, "c"), qk::Error);
  EXPECT_THROW(parse_qwen3_next_config({{"rope_parameters", {{"rope_type", "yarn"}}}}, "c"), qk::Error);
  // A missing tensor is named.
  try {
    make_causal_lm({{"model_type", "qwen3_next"}, {"num_hidden_layers", 1}, {"hidden_size", 8}, {"vocab_size", 4}}, none);
    FAIL();
  } catch (const qk::Error& e) {
    EXPECT_NE(std::string(e.what()).find("model.embed_tokens.weight"), std::string::npos) << e.what();
  }
}

TEST(Loader, LegacyFullAttentionIntervalGivesEveryFourthLayer) {
  const auto c = parse_qwen3_next_config({{"num_hidden_layers", 8}, {"full_attention_interval", 4}}, "c");
  EXPECT_TRUE(c.is_linear_attention(0));
  EXPECT_FALSE(c.is_linear_attention(3));
  EXPECT_FALSE(c.is_linear_attention(7));
  EXPECT_EQ(c.rotary_dim, 64u);  // head_dim 256 x 0.25 by default
}

}  // namespace
