// qkrestore diagnose: per layer and head, where SFT moved the attention routing (layer_drift.hpp
// defines the metrics), streamed one layer at a time as restore does; reported as text, JSON and
// a self-contained HTML page (to_html, report_html.cpp).
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

// The diagnose report as one self-contained HTML page (inline CSS and SVG, no script, no network):
// heatmaps layers x heads of each head metric, a band plot per global layer, and the per-layer
// drift of every layer (global Q/K next to the linear-attention mixers).
std::string to_html(const Report& report);

}  // namespace qk::diagnose
