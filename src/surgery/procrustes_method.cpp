#include "surgery/procrustes_method.hpp"

#include <fmt/format.h>

#include "util/error.hpp"

namespace qk {

Granularity parse_granularity(const std::string& text) {
  if (text == "group") return Granularity::Group;
  if (text == "layer") return Granularity::Layer;
  fail(ErrorKind::Usage, "--granularity '{}': choose group (one rotation per KV group) or layer (one per layer)", text);
}

const char* granularity_name(Granularity g) { return g == Granularity::Group ? "group" : "layer"; }

void check_rope_geometry(const SurgeryPlan& plan, int layer, const char* method) {
  const auto& info = plan.layers.at(layer);
  if (info.kind != LayerKind::Global)
    fail(ErrorKind::Unsupported, "{}: layer {} is a {} layer; {} aligns global attention layers only (a sliding layer's RoPE may "
         "differ from the global layers')", method, layer, layer_kind_name(info.kind), method);
  if (plan.rotary_dim < 0 || plan.rotary_dim > plan.head_dim || plan.rotary_dim % 2 != 0)
    fail(ErrorKind::Unsupported, "{}: rotary_dim {} is not an even number of dims within head_dim {}", method, plan.rotary_dim,
         plan.head_dim);
}

ProcrustesMethod::ProcrustesMethod(double alpha, Granularity granularity) : alpha_(alpha), granularity_(granularity) {
  if (!(alpha >= 0 && alpha <= 1)) fail(ErrorKind::Usage, "--alpha {} must lie in [0, 1] (1: aligned base, 0: SFT)", alpha);
}

nlohmann::json ProcrustesMethod::options() const { return {{"alpha", alpha_}, {"granularity", granularity_name(granularity_)}}; }

namespace {

// The rows of one head in base and SFT, and where the result goes.
struct HeadRows {
  HeadBlock where;
  RowMatrix base, sft;
};

HeadRows load(std::span<const TensorPair> tensors, const HeadBlock& block, std::int64_t head_dim) {
  const TensorPair& pair = tensors[block.tensor];
  return {block, decode_rows(pair.base, block.first_row, head_dim), decode_rows(pair.sft, block.first_row, head_dim)};
}

}  // namespace

std::vector<std::vector<std::byte>> ProcrustesMethod::compute_layer(std::span<const TensorPair> tensors, const SurgeryPlan& plan) const {
  const QkLayerLayout layout = locate_qk_heads(tensors, plan, "procrustes");
  check_rope_geometry(plan, layout.layer, "procrustes");
  const std::int64_t hd = layout.head_dim;
  auto outputs = copy_sft_bytes(tensors);

  // Group k holds key head k and the query heads that read it (and their biases).
  const std::int64_t groups = layout.kv_heads;
  std::vector<std::vector<HeadRows>> members(groups);
  for (std::int64_t h = 0; h < layout.heads; ++h) {
    members[layout.kv_head_of(h)].push_back(load(tensors, layout.q_weight[h], hd));
    if (!layout.q_bias.empty()) members[layout.kv_head_of(h)].push_back(load(tensors, layout.q_bias[h], hd));
  }
  for (std::int64_t g = 0; g < groups; ++g) {
    members[g].push_back(load(tensors, layout.k_weight[g], hd));
    if (!layout.k_bias.empty()) members[g].push_back(load(tensors, layout.k_bias[g], hd));
  }

  std::vector<AlignmentCross> cross(groups, AlignmentCross(hd, plan.rotary_dim));
  for (std::int64_t g = 0; g < groups; ++g)
    for (const auto& m : members[g]) cross[g].add(m.sft, m.base);
  if (granularity_ == Granularity::Layer) {
    for (std::int64_t g = 1; g < groups; ++g) cross[0].add(cross[g]);
    cross.erase(cross.begin() + 1, cross.end());
  }
  std::vector<RopeCommutingRotation> rotations;
  for (const auto& m : cross) rotations.push_back(solve_rope_procrustes(m));

  const float alpha = static_cast<float>(alpha_);
  std::vector<GroupAlignment> stats(rotations.size());
  for (std::int64_t g = 0; g < groups; ++g) {
    const std::size_t r = granularity_ == Granularity::Layer ? 0 : g;
    GroupAlignment& s = stats[r];
    for (const auto& m : members[g]) {
      RowMatrix aligned = rotations[r].apply(m.base);
      s.restore_to_sft += (m.base - m.sft).cast<double>().squaredNorm();
      s.aligned_to_sft += (aligned - m.sft).cast<double>().squaredNorm();
      s.sft += m.sft.cast<double>().squaredNorm();
      // W = alpha * O W_base + (1 - alpha) * W_sft (alpha = 1: the aligned rows exactly).
      RowMatrix out = alpha * aligned + (1.0f - alpha) * m.sft;
      encode_rows(out, *tensors[m.where.tensor].sft.info, outputs[m.where.tensor], m.where.first_row);
    }
  }
  for (std::size_t i : layout.copied) copy_base_rows(tensors[i], outputs[i]);
  for (std::size_t r = 0; r < stats.size(); ++r) {
    stats[r].layer = layout.layer;
    stats[r].group = granularity_ == Granularity::Layer ? -1 : static_cast<int>(r);
    stats[r].rotation = std::move(rotations[r]);
    alignments_.push_back(std::move(stats[r]));
  }
  return outputs;
}

}  // namespace qk
