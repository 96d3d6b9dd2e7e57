#include "surgery/procrustes_method.hpp"

#include <fmt/format.h>
#include <cblas.h>

#include "util/error.hpp"
#include "util/thread_pool.hpp"

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
  plan.require_rotary_dim(method);  // a config that does not say is refused, not read as NoPE
  if (plan.rotary_dim < 0 || plan.rotary_dim > plan.head_dim || plan.rotary_dim % 2 != 0)
    fail(ErrorKind::Unsupported, "{}: rotary_dim {} is not an even number of dims within head_dim {}", method, plan.rotary_dim,
         plan.head_dim);
}

ProcrustesMethod::ProcrustesMethod(double alpha, Granularity granularity) : alpha_(alpha), granularity_(granularity) {
  if (!(alpha >= 0 && alpha <= 1)) fail(ErrorKind::Usage, "--alpha {} must lie in [0, 1] (1: aligned base, 0: SFT)", alpha);
}

MethodSpec ProcrustesMethod::spec() const {
  MethodSpec m = MethodSpec::defaults(MethodKind::Procrustes);
  m.alpha = alpha_;
  m.granularity = granularity_name(granularity_);
  return m;
}

namespace {

struct MemberDistances {
  double restore_to_sft = 0, aligned_to_sft = 0, sft = 0;  // ||A - B||^2, ||O A - B||^2, ||B||^2
};

// Writes the output rows of one member (group.base/sft: A/B) and returns its distances to SFT,
// in tiles of kTile columns (a tile of every row stays in the core's cache). The rotary rows of
// O A come from the pair rotations, the non-rotary ones from one sgemm per tile:
// tile = O_free A[r:, tile's columns]  ([rest x rest] times [rest x kTile]).
MemberDistances write_member(const GroupRows& group, const GroupMember& m, const RopeCommutingRotation& o, float alpha, const TensorInfo& like,
                             std::span<std::byte> out) {
  constexpr std::int64_t kTile = 256;
  const std::int64_t hd = o.head_dim, r = o.rotary_dim, half = r / 2, n = m.width, rest = hd - r;
  const std::size_t width = dtype_size(like.dtype);
  std::vector<float> aligned(kTile), mixed(kTile), tile(rest * kTile);
  MemberDistances d;
  for (std::int64_t c0 = 0; c0 < n; c0 += kTile) {
    const std::int64_t nt = std::min(kTile, n - c0);
    const std::int64_t first = m.first_column + c0;  // the tile's first column in the group matrices
    if (rest > 0)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(rest), static_cast<int>(nt), static_cast<int>(rest), 1.0f,
                  o.free.data(), static_cast<int>(rest), group.base.data() + r * group.columns + first, static_cast<int>(group.columns), 0.0f,
                  tile.data(), static_cast<int>(nt));
    for (std::int64_t k = 0; k < hd; ++k) {
      const float* a = group.base.data() + k * group.columns + first;
      const float* b = group.sft.data() + k * group.columns + first;
      if (k < r) {
        // Pair (j, j + half) turned by [[cos, -sin], [sin, cos]] (RopeCommutingRotation::apply).
        const std::int64_t j = k % half;
        const float* lo = group.base.data() + j * group.columns + first;
        const float* hi = group.base.data() + (j + half) * group.columns + first;
        if (k < half)
          for (std::int64_t c = 0; c < nt; ++c) aligned[c] = o.cos[j] * lo[c] - o.sin[j] * hi[c];
        else
          for (std::int64_t c = 0; c < nt; ++c) aligned[c] = o.sin[j] * lo[c] + o.cos[j] * hi[c];
      } else {
        std::copy_n(tile.data() + (k - r) * nt, nt, aligned.begin());
      }
      for (std::int64_t c = 0; c < nt; ++c) mixed[c] = alpha * aligned[c] + (1.0f - alpha) * b[c];  // W = alpha O W_base + (1 - alpha) W_sft
      // The distances are only reported: float sums over 8 lanes (c % 8, so they vectorize)
      // within the tile's row, double across rows and tiles.
      float restore[8] = {}, moved[8] = {}, norm[8] = {};
      std::int64_t c = 0;
      for (; c + 8 <= nt; c += 8)
        for (int l = 0; l < 8; ++l) {
          restore[l] += (a[c + l] - b[c + l]) * (a[c + l] - b[c + l]);
          moved[l] += (aligned[c + l] - b[c + l]) * (aligned[c + l] - b[c + l]);
          norm[l] += b[c + l] * b[c + l];
        }
      for (; c < nt; ++c) {
        restore[0] += (a[c] - b[c]) * (a[c] - b[c]);
        moved[0] += (aligned[c] - b[c]) * (aligned[c] - b[c]);
        norm[0] += b[c] * b[c];
      }
      for (int l = 0; l < 8; ++l) {
        d.restore_to_sft += restore[l];
        d.aligned_to_sft += moved[l];
        d.sft += norm[l];
      }
      encode_from_f32(like.dtype, std::span<const float>(mixed.data(), nt), out.subspan(((m.where.first_row + k) * n + c0) * width, nt * width));
    }
  }
  return d;
}

}  // namespace

std::vector<std::vector<std::byte>> ProcrustesMethod::compute_layer(std::span<const TensorPair> tensors, const SurgeryPlan& plan) const {
  const QkLayerLayout layout = locate_qk_heads(tensors, plan, "procrustes");
  check_rope_geometry(plan, layout.layer, "procrustes");
  const std::int64_t hd = layout.head_dim, r = plan.rotary_dim;
  auto outputs = copy_sft_bytes(tensors);
  load_groups(tensors, layout, groups_);
  const std::vector<GroupRows>& groups = groups_;
  std::vector<std::pair<std::size_t, std::size_t>> items;  // (group, member), in order
  for (std::size_t g = 0; g < groups.size(); ++g)
    for (std::size_t m = 0; m < groups[g].members.size(); ++m) items.emplace_back(g, m);

  // M = sum over the group's members of B A^T: one partial per member (float products, double
  // sums), added in member order, so the sum does not depend on the threads.
  std::vector<AlignmentCross> partial(items.size(), AlignmentCross(hd, r));
  parallel_for(items.size(), [&](std::size_t i) {
    const GroupRows& group = groups[items[i].first];
    const GroupMember& m = group.members[items[i].second];
    partial[i].add(group.sft.data() + m.first_column, group.base.data() + m.first_column, m.width, group.columns);
  });
  std::vector<AlignmentCross> cross(granularity_ == Granularity::Layer ? 1 : groups.size(), AlignmentCross(hd, r));
  for (std::size_t i = 0; i < items.size(); ++i) cross[granularity_ == Granularity::Layer ? 0 : items[i].first].add(partial[i]);
  partial.clear();
  std::vector<RopeCommutingRotation> rotations(cross.size());
  parallel_for(cross.size(), [&](std::size_t g) { rotations[g] = solve_rope_procrustes(cross[g]); });

  const float alpha = static_cast<float>(alpha_);
  std::vector<MemberDistances> distances(items.size());
  parallel_for(items.size(), [&](std::size_t i) {
    const auto [g, member] = items[i];
    const GroupMember& m = groups[g].members[member];
    const RopeCommutingRotation& rotation = rotations[granularity_ == Granularity::Layer ? 0 : g];
    distances[i] = write_member(groups[g], m, rotation, alpha, *tensors[m.where.tensor].sft.info, outputs[m.where.tensor]);
  });
  std::vector<GroupAlignment> stats(rotations.size());
  for (std::size_t i = 0; i < items.size(); ++i) {  // in member order: the sums do not depend on the threads
    GroupAlignment& s = stats[granularity_ == Granularity::Layer ? 0 : items[i].first];
    s.restore_to_sft += distances[i].restore_to_sft;
    s.aligned_to_sft += distances[i].aligned_to_sft;
    s.sft += distances[i].sft;
  }
  for (std::size_t i : layout.copied) copy_base_rows(tensors[i], outputs[i]);
  for (std::size_t o = 0; o < stats.size(); ++o) {
    stats[o].layer = layout.layer;
    stats[o].group = granularity_ == Granularity::Layer ? -1 : static_cast<int>(layout.kv_groups[o]);
    stats[o].rotation = std::move(rotations[o]);
    alignments_.push_back(std::move(stats[o]));
  }
  return outputs;
}

}  // namespace qk
