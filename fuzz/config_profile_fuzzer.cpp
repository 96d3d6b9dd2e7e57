// Fuzzes config.json through the family table: model_type and alias lookup, the layer-kind sources
// (lists, patterns, periods, indices), the dimension expressions, and, when a layout resolves, the
// whole surgery plan against a real checkpoint of that family (the test checkpoints' shards,
// copied once into a scratch directory, with the fuzzed config.json beside them for base and SFT),
// and, for qwen3_next, the embedded engine's own reading of the config (dimensions, RoPE, MoE).
#include <map>

#include <nlohmann/json.hpp>

#include "arch/layout.hpp"
#include "engine/qwen3_next_config.hpp"
#include "fuzz_support.hpp"
#include "surgery/plan.hpp"
#include "util/json.hpp"

namespace {

namespace fs = std::filesystem;

// model_type -> a scratch copy of that family's test checkpoint (base and sft, weights only).
const std::map<std::string, fs::path>& checkpoints() {
  static const std::map<std::string, fs::path> dirs = [] {
    std::map<std::string, fs::path> result;
    const fs::path scratch = qk::fuzz::scratch_dir("config");
    for (const auto& family : fs::directory_iterator(fs::path(QK_SOURCE_DIR) / "testdata/checkpoints")) {
      if (!fs::exists(family.path() / "base/config.json")) continue;
      const auto config = qk::read_json_file(family.path() / "base/config.json");
      const std::string type = config.value("model_type", "");
      if (type.empty() || result.count(type)) continue;
      const fs::path target = scratch / family.path().filename();
      for (const char* side : {"base", "sft"}) {
        fs::create_directories(target / side);
        for (const auto& e : fs::directory_iterator(family.path() / side))
          if (e.path().extension() == ".safetensors" || e.path().filename() == "model.safetensors.index.json")
            fs::copy_file(e.path(), target / side / e.path().filename(), fs::copy_options::overwrite_existing);
      }
      result[type] = target;
    }
    return result;
  }();
  return dirs;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto& table = qk::FamilyTable::builtin();
  checkpoints();
  // Through the shared strict entry point, as every reader parses: it must throw only qk::Error.
  nlohmann::json config;
  try {
    config = qk::parse_json(qk::fuzz::as_text(data, size), "fuzz config.json");
  } catch (const qk::Error& e) {
    if (std::string_view(e.what()).empty()) __builtin_trap();
    return 0;
  }
  std::string model_type;
  qk::fuzz::expect_only_qk_errors([&] {
    qk::ModelLayout layout(config, table, "fuzz config.json");
    if (config["model_type"].is_string()) model_type = config["model_type"].get<std::string>();
    layout.rotary_dim();  // a config lacking what the expression needs throws a qk::Error
  });
  if (model_type == "qwen3_next")
    qk::fuzz::expect_only_qk_errors([&] { qk::engine::parse_qwen3_next_config(config, "fuzz config.json"); });
  // A user-supplied families file goes through the same parser as the built-in table.
  qk::fuzz::expect_only_qk_errors([&] { qk::FamilyTable::from_json(config, "fuzz families.json"); });
  auto it = checkpoints().find(model_type);
  if (it == checkpoints().end()) return 0;
  for (const char* side : {"base", "sft"}) qk::fuzz::write_file(it->second / side / "config.json", qk::fuzz::as_text(data, size));
  qk::fuzz::expect_only_qk_errors([&] {
    qk::Checkpoint base(it->second / "base"), sft(it->second / "sft");
    qk::make_plan(base, sft, {}, table);
  });
  return 0;
}
