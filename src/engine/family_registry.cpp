// The families the embedded engine runs, by config.json "model_type". Adding a family is one file
// (its make_<family> function) and one line in this table.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "engine/causal_lm.hpp"
#include "engine/qwen3_next_config.hpp"
#include "io/checkpoint.hpp"
#include "util/error.hpp"
#include "util/json.hpp"

namespace qk::engine {
namespace {

struct Family {
  const char* model_type;
  std::unique_ptr<CausalLM> (*make)(const nlohmann::json& config, const WeightSource& weights);
};

constexpr Family kFamilies[] = {
    {"qwen3_next", &make_qwen3_next},
};

}  // namespace

std::vector<std::string> supported_model_types() {
  std::vector<std::string> types;
  for (const auto& f : kFamilies) types.emplace_back(f.model_type);
  return types;
}

std::size_t SequenceState::bytes() const {
  std::size_t n = 0;
  for (const auto& l : layers) n += (l.conv.size() + l.recurrent.size() + l.keys.size() + l.values.size()) * sizeof(float);
  return n;
}

void SequenceState::reserve_positions(std::size_t positions) {
  for (auto& l : layers) {
    l.keys.reserve(positions * l.kv_width);
    l.values.reserve(positions * l.kv_width);
  }
}

std::unique_ptr<CausalLM> make_causal_lm(const nlohmann::json& config, const WeightSource& weights) {
  const std::string type = optional_string_field(config, "model_type", weights.label()).value_or("");
  for (const auto& f : kFamilies)
    if (type == f.model_type) return f.make(config, weights);
  fail(ErrorKind::Unsupported, "{}: model_type '{}' is not supported by the embedded engine (supported: {})",
       weights.label(), type, fmt::join(supported_model_types(), ", "));
}

std::unique_ptr<CausalLM> load_causal_lm(const std::filesystem::path& dir) {
  auto checkpoint = std::make_shared<const Checkpoint>(dir);
  nlohmann::json config = checkpoint->config();
  // generation_config.json's eos_token_id (often a list) overrides config.json's, as transformers' generate().
  const auto generation = dir / "generation_config.json";
  if (std::filesystem::exists(generation)) {
    const auto gen = read_json_file(generation);
    if (gen.is_object() && gen.contains("eos_token_id") && !gen["eos_token_id"].is_null())
      config["eos_token_id"] = gen["eos_token_id"];
  }
  CheckpointWeights weights(std::move(checkpoint));
  return make_causal_lm(config, weights);
}

}  // namespace qk::engine
