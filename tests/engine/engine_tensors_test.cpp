// The names the engine loads come from the architecture table (families.json engine_tensors) and match
// the checkpoints transformers writes: for every family the engine runs, load every fixture checkpoint of
// that family (testdata/checkpoints/*/{base,sft}, testdata/engine/*) through a WeightSource that records
// what is asked for. Every tensor loaded is a name the table makes (role, layer, expert and back), every
// tensor of the checkpoint is loaded (nothing left out), and every role of the table is used by some
// checkpoint: the fused-expert roles by the moe_shared fixture with its experts fused as transformers 5
// stores them, which must compute the same logits as the per-expert layout.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>

#include "arch/profile.hpp"
#include "engine/causal_lm.hpp"
#include "engine/weights.hpp"
#include "io/checkpoint.hpp"

namespace fs = std::filesystem;

namespace qk::engine {
namespace {

const fs::path kSource = fs::path(QK_SOURCE_DIR);

class RecordingWeights final : public WeightSource {
 public:
  explicit RecordingWeights(const WeightSource& inner) : inner_(inner) {}
  bool has(std::string_view name) const override { return inner_.has(name); }
  std::vector<float> load(std::string_view name, const Shape& expected) const override {
    loaded.emplace(name);
    return inner_.load(name, expected);
  }
  Matrix matrix(std::string_view name, const Shape& expected) const override {
    loaded.emplace(name);
    return inner_.matrix(name, expected);
  }
  std::string label() const override { return inner_.label(); }
  mutable std::set<std::string> loaded;

 private:
  const WeightSource& inner_;
};

// Checkpoint directories whose model_type the engine runs.
std::vector<fs::path> engine_fixtures() {
  std::vector<fs::path> dirs;
  for (const auto& entry : fs::directory_iterator(kSource / "testdata" / "checkpoints"))
    for (const char* side : {"base", "sft"}) dirs.push_back(entry.path() / side);
  for (const auto& entry : fs::directory_iterator(kSource / "testdata" / "engine")) dirs.push_back(entry.path());
  const auto types = supported_model_types();
  std::vector<fs::path> out;
  for (const auto& dir : dirs) {
    if (!fs::exists(dir / "config.json") || fs::is_empty(dir)) continue;
    bool weights = false;
    for (const auto& f : fs::directory_iterator(dir)) weights |= f.path().extension() == ".safetensors";
    if (!weights) continue;
    const std::string type = Checkpoint(dir).config().value("model_type", "");
    if (std::find(types.begin(), types.end(), type) != types.end()) out.push_back(dir);
  }
  std::sort(out.begin(), out.end());
  return out;
}

const EngineTensorNames& names_of(const std::string& model_type) {
  const FamilyProfile* family = FamilyTable::builtin().find(model_type);
  EXPECT_TRUE(family && !family->engine_tensors.empty()) << model_type << " has no engine_tensors";
  return family->engine_tensors;
}

// Loads `weights` with `config`; checks the names against the table; returns the roles loaded.
std::set<EngineRole> load_and_check(const nlohmann::json& config, const WeightSource& weights,
                                    const std::set<std::string>& tensors, const std::string& what) {
  const std::string type = config.value("model_type", "");
  const EngineTensorNames& names = names_of(type);
  RecordingWeights recording(weights);
  make_causal_lm(config, recording);
  std::set<EngineRole> roles;
  for (const auto& name : recording.loaded) {
    const auto t = names.find(name);
    if (!t) {
      ADD_FAILURE() << what << ": the engine loaded '" << name << "', which no engine_tensors template of " << type << " makes";
      continue;
    }
    EXPECT_EQ(names.name(*t), name) << what;
    roles.insert(t->role);
  }
  for (const auto& name : tensors) EXPECT_TRUE(recording.loaded.count(name)) << what << ": '" << name << "' is left out";
  return roles;
}

TEST(EngineTensors, EveryFixtureTensorIsLoadedUnderATableName) {
  const auto fixtures = engine_fixtures();
  ASSERT_GE(fixtures.size(), 7u);  // qwen3_next and qwen3_next_sharded (base, sft), 3 parity checkpoints
  std::map<std::string, std::set<EngineRole>> used;  // model_type -> roles loaded by some fixture
  for (const auto& dir : fixtures) {
    auto checkpoint = std::make_shared<const Checkpoint>(dir);
    const auto tensors = checkpoint->tensor_names();
    const nlohmann::json config = checkpoint->config();
    const auto roles = load_and_check(config, CheckpointWeights(checkpoint), {tensors.begin(), tensors.end()},
                                      dir.lexically_relative(kSource).string());
    used[config["model_type"]].insert(roles.begin(), roles.end());
  }
  // The fused-expert layout, from moe_shared's per-expert tensors.
  used["qwen3_next"].insert({EngineRole::MoeExpertsGateUp, EngineRole::MoeExpertsDown});
  for (const auto& type : supported_model_types())
    for (EngineRole role : names_of(type).roles())
      EXPECT_TRUE(used[type].count(role)) << type << ": no fixture loads " << engine_role_name(role);
}

// moe_shared with every MoE layer's experts fused ([E, 2I, H] gate|up per expert, [E, H, I] down), as
// transformers 5 saves them: loaded under the moe.experts.* names, and the same logits.
TEST(EngineTensors, FusedExpertsLoadUnderTheirTableNamesAndComputeTheSame) {
  auto checkpoint = std::make_shared<const Checkpoint>(kSource / "testdata" / "engine" / "moe_shared");
  const nlohmann::json config = checkpoint->config();
  const EngineTensorNames& names = names_of("qwen3_next");
  const CheckpointWeights source(checkpoint);
  MemoryWeights per_expert, fused;
  std::map<std::size_t, std::map<std::size_t, std::map<EngineRole, MemoryWeights::Tensor>>> experts;  // layer, expert, role
  for (const auto& name : checkpoint->tensor_names()) {
    const Shape shape = checkpoint->at(name).info->shape;
    std::vector<float> values = source.load(name, shape);
    per_expert.put(name, shape, values);
    const auto t = names.find(name);
    ASSERT_TRUE(t) << name;
    if (engine_role_scope(t->role) == RoleScope::Expert) experts[t->layer][t->expert][t->role] = {shape, std::move(values)};
    else fused.put(name, shape, std::move(values));
  }
  ASSERT_FALSE(experts.empty());
  for (const auto& [layer, by_expert] : experts) {
    const auto& first = by_expert.begin()->second;
    const std::int64_t E = static_cast<std::int64_t>(by_expert.size());
    const std::int64_t I = first.at(EngineRole::MoeExpertGate).shape[0], H = first.at(EngineRole::MoeExpertGate).shape[1];
    std::vector<float> gate_up, down;
    for (const auto& [e, parts] : by_expert) {
      for (EngineRole role : {EngineRole::MoeExpertGate, EngineRole::MoeExpertUp})
        gate_up.insert(gate_up.end(), parts.at(role).values.begin(), parts.at(role).values.end());
      down.insert(down.end(), parts.at(EngineRole::MoeExpertDown).values.begin(), parts.at(EngineRole::MoeExpertDown).values.end());
    }
    fused.put(names.name(EngineRole::MoeExpertsGateUp, layer), {E, 2 * I, H}, std::move(gate_up));
    fused.put(names.name(EngineRole::MoeExpertsDown, layer), {E, H, I}, std::move(down));
  }
  std::set<std::string> fused_tensors;
  for (const auto& [name, tensor] : fused.tensors()) fused_tensors.insert(name);
  const auto roles = load_and_check(config, fused, fused_tensors, "moe_shared, experts fused");
  EXPECT_TRUE(roles.count(EngineRole::MoeExpertsGateUp) && roles.count(EngineRole::MoeExpertsDown));

  auto logits = [&](const WeightSource& w) {
    auto model = make_causal_lm(config, w);
    SequenceState state = model->new_sequence();
    const std::vector<std::int32_t> tokens = {1, 7, 42, 99, 3, 250, 17, 8, 64, 5, 300, 12, 77, 2, 9, 31, 400, 6};
    const Segment segment{&state, tokens};
    return model->forward({&segment, 1}, LogitsFor::AllTokens);
  };
  EXPECT_EQ(logits(fused), logits(per_expert));
}

}  // namespace
}  // namespace qk::engine
