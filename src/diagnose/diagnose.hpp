// qkrestore diagnose: per layer and head, where SFT moved the attention routing (layer_drift.hpp
// defines the metrics), streamed one layer at a time as restore does; reported as text, JSON and
// a self-contained HTML page (report_html.hpp).
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "arch/profile.hpp"
#include "diagnose/layer_drift.hpp"

namespace qk::diagnose {

struct Report {
  std::string base, sft, model_type;
  std::int64_t heads = 0, kv_heads = 0, head_dim = 0, rotary_dim = 0;
  double rope_theta = 0;
  std::vector<LayerDrift> layers;  // every layer, in order
};

Report diagnose(const Checkpoint& base, const Checkpoint& sft, const FamilyTable& table, bool quiet);

nlohmann::json to_json(const Report& report);
std::string to_text(const Report& report);  // the terminal summary: one line per layer

}  // namespace qk::diagnose
