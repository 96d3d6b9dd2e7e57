// What the engine measures per head (src/heads): how the answering positions attend to the needle,
// and NIAH recall under greedy generation. Both run on any engine::CausalLM (qwen3_next today).
#pragma once
#include <cstddef>
#include <span>
#include <vector>

#include "engine/causal_lm.hpp"
#include "engine/model_hooks.hpp"
#include "util/statistics.hpp"
#include "heads/probe_sample.hpp"

namespace qk::heads {

// One query head of one full-attention layer, over a set of probe samples. The answer is teacher-forced
// after the prompt: the positions that predict its tokens are the "answering positions".
//   mass       mean over answering positions of the attention put on the needle's value tokens
//   retrieval  Wu et al. 2024's retrieval score: of the answer tokens that copy a needle token, the
//              share for which the head's most-attended position holds that same token in the needle
struct HeadAttention {
  int layer = -1, head = -1;
  Estimate mass;            // in [0, 1]
  Estimate retrieval;       // in [0, 1], Wilson over `copies`
  std::size_t copies = 0;   // answer tokens that occur among the needle's tokens
  std::size_t positions = 0;
};

// Greedy exact match per sample (RULER's value emitted first, in [0, 1]).
struct RecallResult {
  std::vector<double> scores;  // per sample, 0 or 1
  Estimate recall() const;     // mean x 100, Wilson
};

struct ProbeRun {
  std::vector<HeadAttention> heads;  // every head of every full-attention layer, by (layer, head); empty unless asked
  RecallResult recall;
};

// One forward per sample over prompt + answer (teacher-forced). A sample is recalled when the argmax
// at every answering position is the answer's next token: exactly when greedy decoding emits the value
// as its first tokens, so no decoding is needed. With `attention`, the probe records every head too.
// The prompt is fed in chunks of 1024 tokens from position 0, so a model wrapped in engine::PrefillReuse
// records SFT's chunks and resumes a candidate's from its first changed layer.
ProbeRun run_probes(engine::CausalLM& model, std::span<const ProbeSample> samples, bool attention);

// Paired difference a - b on the same samples, in points (x 100), with its 95% interval.
Estimate recall_gain(const RecallResult& a, const RecallResult& b);

}  // namespace qk::heads
