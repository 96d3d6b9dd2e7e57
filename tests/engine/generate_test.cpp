// Generation on the random test checkpoint: batching, stop tokens, token budgets, sampling; and the
// loader's errors for what the engine does not run.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <cmath>
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

TEST(Generate, ReservedKvCachesStayInPlaceWhileDecodingAndComputeTheSame) {
  auto model = load_causal_lm(kModel);
  const auto prompt = prompt_of(3, 30);
  SequenceState reserved = model->new_sequence(), grown = model->new_sequence();
  reserved.reserve_positions(40);
  std::vector<const float*> keys_at, values_at;
  for (const auto& layer : reserved.layers) {
    EXPECT_GE(layer.keys.capacity(), 40 * layer.kv_width);
    keys_at.push_back(layer.keys.data());
    values_at.push_back(layer.values.data());
  }
  ASSERT_TRUE(std::ranges::any_of(reserved.layers, [](const LayerCache& l) { return l.kv_width > 0; }));
  std::vector<float> a, b;
  auto feed = [&](std::span<const std::int32_t> tokens) {
    const Segment seg_a{&reserved, tokens}, seg_b{&grown, tokens};
    a = model->forward({&seg_a, 1}, LogitsFor::LastToken);
    b = model->forward({&seg_b, 1}, LogitsFor::LastToken);
  };
  feed(prompt);
  for (int step = 0; step < 10; ++step) {
    const std::int32_t next = static_cast<std::int32_t>(std::max_element(a.begin(), a.end()) - a.begin());
    feed({&next, 1});
    EXPECT_EQ(a, b) << step;
  }
  for (std::size_t l = 0; l < reserved.layers.size(); ++l) {
    const auto& layer = reserved.layers[l];
    EXPECT_EQ(layer.keys.size(), 40 * layer.kv_width) << l;
    if (layer.kv_width == 0) continue;
    EXPECT_EQ(layer.keys.data(), keys_at[l]) << "layer " << l << "'s keys moved";
    EXPECT_EQ(layer.values.data(), values_at[l]) << "layer " << l << "'s values moved";
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

TEST(Generate, LogprobsAreTheLogSoftmaxOfTheRawLogits) {
  const std::vector<float> logits = {1.0f, 3.0f, 2.0f, 3.0f};
  const TokenLogprob lp = token_logprob(logits, 2, 3);
  double z = 0;
  for (float x : logits) z += std::exp(x);
  EXPECT_NEAR(lp.logprob, 2.0 - std::log(z), 1e-6);
  ASSERT_EQ(lp.top.size(), 3u);
  EXPECT_EQ(lp.top[0].first, 1);  // ties: lower id first
  EXPECT_EQ(lp.top[1].first, 3);
  EXPECT_EQ(lp.top[2].first, 2);
  EXPECT_NEAR(lp.top[2].second, lp.logprob, 1e-7);
  EXPECT_TRUE(token_logprob(logits, 0, 0).top.empty());
}

TEST(Generate, PenaltiesFollowOpenAisFormula) {
  std::vector<float> logits = {0.0f, 0.0f, 0.0f};
  const std::vector<std::int32_t> generated = {1, 1, 2};
  apply_penalties(logits, generated, 0.5f, 0.25f);
  EXPECT_FLOAT_EQ(logits[0], 0.0f);
  EXPECT_FLOAT_EQ(logits[1], -(2 * 0.5f + 0.25f));
  EXPECT_FLOAT_EQ(logits[2], -(1 * 0.5f + 0.25f));
}

TEST(Generate, PresencePenaltyStopsGreedyRepeats) {
  auto model = load_causal_lm(kModel);
  GenerationRequest r{prompt_of(4, 12), {}};
  r.options.max_tokens = 24;
  const auto plain = generate(*model, r);
  r.options.presence_penalty = 2.0f;
  r.options.frequency_penalty = 2.0f;
  const auto penalized = generate(*model, r);
  const std::set<std::int32_t> distinct_plain(plain.tokens.begin(), plain.tokens.end()),
      distinct_penalized(penalized.tokens.begin(), penalized.tokens.end());
  EXPECT_GE(distinct_penalized.size(), distinct_plain.size());
  EXPECT_NE(penalized.tokens, plain.tokens);
  r.options.presence_penalty = 3.0f;  // outside [-2, 2]
  EXPECT_THROW(generate(*model, r), qk::Error);
}

TEST(Generate, CallbacksSeeEveryTokenAndCanEndOneSequenceOfABatch) {
  auto model = load_causal_lm(kModel);
  std::vector<GenerationRequest> requests(2, GenerationRequest{prompt_of(5, 16), {}});
  std::vector<std::size_t> seen(2, 0), finished_at(2, 0);
  std::size_t finishes = 0;
  for (std::size_t i = 0; i < 2; ++i) {
    requests[i].options.max_tokens = 20;
    requests[i].options.logprobs = true;
    requests[i].options.top_logprobs = 2;
    requests[i].options.on_token = [&, i](const GenerationResult& r) {
      seen[i] = r.tokens.size();
      EXPECT_EQ(r.logprobs.size(), r.tokens.size());
      return i == 1 && r.tokens.size() == 5;  // the second sequence is cancelled after 5 tokens
    };
    requests[i].options.on_finish = [&, i](const GenerationResult& r) { finished_at[i] = ++finishes; };
  }
  const auto results = generate_batch(*model, requests);
  EXPECT_EQ(results[0].tokens.size(), 20u);
  EXPECT_EQ(results[1].tokens.size(), 5u);
  EXPECT_EQ(results[1].finish, FinishReason::Stop);
  EXPECT_EQ(seen[0], 20u);
  EXPECT_EQ(finished_at[1], 1u);  // reported when it ended, before the other
  EXPECT_EQ(finished_at[0], 2u);
  // The first five tokens are those of the sequence that went on: ending one changes nothing else.
  EXPECT_EQ(std::vector<std::int32_t>(results[0].tokens.begin(), results[0].tokens.begin() + 5), results[1].tokens);
  for (const auto& lp : results[0].logprobs) {
    ASSERT_EQ(lp.top.size(), 2u);
    EXPECT_LE(lp.logprob, lp.top[0].second + 1e-6f);  // greedy picks the most likely token
  }
}

TEST(Generate, ContinuousBatchingLetsALateShortRequestFinishFirst) {
  auto model = load_causal_lm(kModel);
  GenerationRequest long_one{prompt_of(6, 20), {}}, short_one{prompt_of(7, 9), {}};
  long_one.options.max_tokens = 30;
  short_one.options.max_tokens = 4;
  const auto long_alone = generate(*model, long_one), short_alone = generate(*model, short_one);
  std::vector<std::string> order;
  std::size_t long_tokens = 0, long_tokens_when_admitted = 0;
  GenerationResult long_result, short_result;
  long_one.options.on_token = [&](const GenerationResult& r) { return long_tokens = r.tokens.size(), false; };
  long_one.options.on_finish = [&](const GenerationResult& r) { order.push_back("long"), long_result = r; };
  short_one.options.on_finish = [&](const GenerationResult& r) { order.push_back("short"), short_result = r; };
  std::size_t steps = 0;
  GenerationLimits limits;
  limits.max_batch = 4;
  generate_continuous(
      *model,
      [&](std::size_t free) -> std::vector<const GenerationRequest*> {
        ++steps;
        if (steps == 1) return {&long_one};
        if (steps == 6) {  // arrives while the long one decodes
          long_tokens_when_admitted = long_tokens;
          return {&short_one};
        }
        return {};
      },
      limits);
  EXPECT_EQ(long_tokens_when_admitted, 5u);
  EXPECT_EQ(order, (std::vector<std::string>{"short", "long"}));
  EXPECT_EQ(long_result.tokens, long_alone.tokens);  // joining mid-way changes no one's tokens
  EXPECT_EQ(short_result.tokens, short_alone.tokens);
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
  // A rotary factor outside [0, 1] is named before it becomes a dimension (1e300 and -1 would overflow size_t).
  for (double factor : {1e300, -1.0, 1.5}) {
    try {
      parse_qwen3_next_config({{"partial_rotary_factor", factor}}, "c");
      FAIL() << factor << " accepted";
    } catch (const qk::Error& e) {
      EXPECT_NE(std::string(e.what()).find("partial_rotary_factor"), std::string::npos) << e.what();
    }
  }
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
  EXPECT_EQ(c.layer_kinds[3], qk::LayerKind::Global);
  EXPECT_EQ(c.layer_kinds[4], qk::LayerKind::Linear);
  EXPECT_EQ(c.rotary_dim, 64u);  // head_dim 256 x 0.25 by default
}

}  // namespace
