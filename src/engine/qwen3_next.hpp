// The qwen3_next family (Qwen3-Next): hybrid decoder of Gated DeltaNet and gated full-attention layers,
// zero-centred RMSNorm (output * (1 + weight)), dense or sparse-MoE feed-forward, tied or untied embeddings.
#pragma once
#include <memory>

#include <nlohmann/json.hpp>

#include "engine/causal_lm.hpp"

namespace qk::engine {

std::unique_ptr<CausalLM> make_qwen3_next(const nlohmann::json& config, const WeightSource& weights);

}  // namespace qk::engine
