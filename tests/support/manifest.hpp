// Ground truth written by transformers itself next to each reference checkpoint pair
// (tools/refgen/checkpoints/make_checkpoints.py): layer kinds and the global Q/K tensors.
#pragma once
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "io/checkpoint.hpp"
#include "support/temp_dir.hpp"
#include "util/json.hpp"

namespace qk::test {

struct Manifest {
  std::string name;
  std::filesystem::path dir;
  // Shared, not copied: gtest copies every parameter once per test of the suite, and copying parsed
  // JSON node by node made each test program's start-up take a second under ASan.
  std::shared_ptr<const nlohmann::json> document;

  const nlohmann::json& json() const { return *document; }

  std::set<int> layers(const char* key) const { return json()[key].get<std::set<int>>(); }
  // File names of the global layers' tensors whose role is in `roles`.
  std::set<std::string> global_tensors(const std::set<std::string>& roles) const {
    std::set<std::string> names;
    for (const auto& [layer, tensors] : json()["global_qk_tensors"].items())
      for (const auto& t : tensors)
        if (roles.count(t["role"].get<std::string>())) names.insert(t["saved_name"].get<std::string>());
    return names;
  }
};

inline void PrintTo(const Manifest& m, std::ostream* os) { *os << m.name; }
// Names the parameterised tests after the checkpoint (INSTANTIATE_TEST_SUITE_P's name generator).
inline std::string manifest_name(const ::testing::TestParamInfo<Manifest>& info) { return info.param.name; }

inline Manifest load_manifest(const std::string& name, const std::filesystem::path& dir) {
  return {name, dir, std::make_shared<const nlohmann::json>(read_json_file(dir / "manifest.json"))};
}

// Every reference checkpoint pair, sorted by name; read once per test program (several suites
// instantiate over them).
inline const std::vector<Manifest>& all_manifests() {
  static const std::vector<Manifest> manifests = [] {
    std::vector<Manifest> result;
    for (const auto& entry : std::filesystem::directory_iterator(checkpoints_dir())) {
      if (!std::filesystem::exists(entry.path() / "manifest.json")) continue;
      result.push_back(load_manifest(entry.path().filename().string(), entry.path()));
    }
    std::sort(result.begin(), result.end(), [](const Manifest& a, const Manifest& b) { return a.name < b.name; });
    return result;
  }();
  return manifests;
}

// Roles of tensors restored by default: Q/K weights (whole, gated, fused or MLA pieces), biases, adapters.
inline const std::set<std::string> kDefaultRoles = {"q_weight", "k_weight", "q_bias", "k_bias", "fused_qkv_weight",
                                                    "q_adapter", "k_adapter", "mla_kv_a (k_rope rows + kv latent)",
                                                    "mla_kv_b (k_nope + v rows)"};
inline const std::set<std::string> kNormRoles = {"q_norm", "k_norm"};

}  // namespace qk::test
