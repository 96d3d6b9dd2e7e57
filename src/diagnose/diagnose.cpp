#include "diagnose/diagnose.hpp"

#include <cmath>
#include <filesystem>
#include <map>

#include <fmt/format.h>

#include "arch/layout.hpp"
#include "surgery/output.hpp"
#include "surgery/procrustes_norms.hpp"
#include "util/error.hpp"
#include "util/json.hpp"
#include "util/progress.hpp"

namespace qk::diagnose {
namespace {

// The mixer's tensors of a non-global layer: matrices that are not MLP/MoE weights.
// A layer's mixer weights: matrices that the family's ffn_tensors (families.json) do not mark feed-forward.
bool is_mixer_tensor(const std::string& name, const TensorInfo& info, const FamilyProfile& family) {
  if (info.shape.size() < 2) return false;
  for (const auto& part : family.ffn_tensors)
    if (name.find(part) != std::string::npos) return false;
  return true;
}

double combined_drift(const std::vector<TensorDrift>& tensors) {
  double diff = 0, base = 0;
  for (const auto& t : tensors) {
    diff += t.drift * t.drift * t.base_norm * t.base_norm;
    base += t.base_norm * t.base_norm;
  }
  return base > 0 ? std::sqrt(diff / base) : 0.0;
}

double mean(const std::vector<HeadDrift>& heads, double HeadDrift::*field) {
  double sum = 0;
  for (const auto& h : heads) sum += h.*field;
  return heads.empty() ? 0.0 : sum / heads.size();
}

}  // namespace

Report diagnose(const Checkpoint& base, const Checkpoint& sft, const FamilyTable& table, bool quiet) {
  const SurgeryPlan plan = make_plan(base, sft, {}, table);
  Report report;
  report.base = base.dir().string();
  report.sft = sft.dir().string();
  report.model_type = plan.model_type;
  report.heads = plan.heads;
  report.kv_heads = plan.kv_heads;
  report.head_dim = plan.head_dim;
  report.rotary_dim = plan.rotary_dim;
  report.rope_theta = rope_theta(sft.config());

  std::map<int, std::vector<std::string>> layer_tensors;
  const ModelLayout layout(sft.config(), table, (sft.dir() / "config.json").string());
  for (const auto& name : sft.tensor_names()) {
    const auto layer = layer_index_in_name(name, plan.layer_prefix, sft.at(name).file->path().string());
    if (layer && is_mixer_tensor(name, *sft.at(name).info, layout.family()) && base.has(name)) layer_tensors[*layer].push_back(name);
  }
  std::map<int, std::vector<const PlannedTensor*>> planned;
  for (const auto& group : layer_groups(plan))
    if (!group.empty() && group.front()->layer >= 0) planned[group.front()->layer] = group;

  auto bytes_of = [&](const std::vector<std::string>& names) {
    std::uint64_t bytes = 0;
    for (const auto& n : names) bytes += base.at(n).info->byte_size() + sft.at(n).info->byte_size();
    return bytes;
  };
  std::uint64_t total = 0;
  for (const auto& info : plan.layers) {
    if (auto it = planned.find(info.index); it != planned.end())
      for (const auto* t : it->second) total += base.at(t->name).info->byte_size() + sft.at(t->name).info->byte_size();
    else total += bytes_of(layer_tensors[info.index]);
  }
  Progress progress("diagnose", total, ProgressUnit::Bytes, quiet);
  for (const auto& info : plan.layers) {
    LayerDrift layer;
    auto it = planned.find(info.index);
    if (it != planned.end()) {
      std::vector<TensorPair> pairs;
      std::vector<std::string> names;
      for (const auto* t : it->second) {
        pairs.push_back({t, base.at(t->name), sft.at(t->name)});
        names.push_back(t->name);
      }
      try {
        layer = global_layer_drift(pairs, plan, report.rope_theta);
      } catch (const Error& e) {
        layer.note = e.what();  // MLA, adapters: tensor drifts only
      }
      layer.tensors = tensor_drifts(base, sft, names);
      progress.add(bytes_of(names));
    } else {
      layer.tensors = tensor_drifts(base, sft, layer_tensors[info.index]);
      progress.add(bytes_of(layer_tensors[info.index]));
    }
    layer.layer = info.index;
    layer.kind = layer_kind_name(info.kind);
    layer.drift = combined_drift(layer.tensors);
    report.layers.push_back(std::move(layer));
    throw_if_interrupted();
  }
  progress.finish();
  return report;
}

nlohmann::json to_json(const Report& r) {
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& l : r.layers) {
    nlohmann::json heads = nlohmann::json::array();
    for (const auto& h : l.heads)
      heads.push_back({{"head", h.head}, {"kv_head", h.kv_head}, {"q_drift", h.q_drift}, {"k_drift", h.k_drift},
                       {"form_drift", h.form_drift}, {"rotation_share", h.rotation_share}, {"q_angle_mean_deg", h.q_angle_mean},
                       {"q_angle_max_deg", h.q_angle_max}, {"k_angle_mean_deg", h.k_angle_mean}, {"k_angle_max_deg", h.k_angle_max}});
    nlohmann::json bands = nlohmann::json::array();
    for (const auto& b : l.bands)
      bands.push_back({{"label", b.label}, {"min_wavelength", b.min_wavelength}, {"max_wavelength", b.max_wavelength}, {"drift", b.drift}});
    nlohmann::json tensors = nlohmann::json::array();
    for (const auto& t : l.tensors) tensors.push_back({{"name", t.name}, {"drift", t.drift}});
    nlohmann::json layer = {{"layer", l.layer}, {"kind", l.kind}, {"drift", l.drift}, {"tensors", tensors}};
    if (!l.heads.empty()) {
      layer["heads"] = heads;
      layer["bands"] = bands;
    }
    if (!l.note.empty()) layer["note"] = l.note;
    layers.push_back(layer);
  }
  return {{"tool", "qkrestore diagnose"}, {"base", r.base}, {"sft", r.sft}, {"model_type", r.model_type}, {"heads", r.heads},
          {"kv_heads", r.kv_heads}, {"head_dim", r.head_dim}, {"rotary_dim", r.rotary_dim}, {"rope_theta", r.rope_theta},
          {"layers", layers}};
}

std::string to_text(const Report& r) {
  std::string out = fmt::format("{}: {} heads, {} KV heads, head_dim {}, rotary_dim {}{}\n", r.model_type, r.heads, r.kv_heads, r.head_dim,
                                r.rotary_dim, r.rotary_dim == 0 ? " (NoPE)" : "");
  out += fmt::format("{:>5} {:<8} {:>8} | {:>8} {:>8} {:>8} {:>9} {:>8} | {}\n", "layer", "kind", "drift", "W_Q", "W_K", "form",
                     "rotation", "angle", "band drift, short -> long wavelength");
  for (const auto& l : r.layers) {
    out += fmt::format("{:>5} {:<8} {:>8.4f} |", l.layer, l.kind, l.drift);
    if (l.heads.empty()) {
      out += l.note.empty() ? "\n" : "  (" + l.note.substr(0, 90) + ")\n";
      continue;
    }
    out += fmt::format(" {:>8.4f} {:>8.4f} {:>8.4f} {:>8.1f}% {:>7.2f}° |", mean(l.heads, &HeadDrift::q_drift), mean(l.heads, &HeadDrift::k_drift),
                       mean(l.heads, &HeadDrift::form_drift), 100 * mean(l.heads, &HeadDrift::rotation_share),
                       mean(l.heads, &HeadDrift::q_angle_mean));
    for (const auto& b : l.bands) out += fmt::format(" {:.3f}", b.drift);
    out += "\n";
  }
  out += "drift: relative Frobenius change of the layer's Q/K tensors (global) or mixer matrices (others); W_Q, W_K, form:\n"
         "mean over heads of the relative change of the rows and of W_Q^T W_K; rotation: share of the Q/K change a\n"
         "RoPE-commuting rotation explains (what procrustes keeps); angle: mean principal angle of the W_Q row spaces.\n";
  return out;
}

}  // namespace qk::diagnose
