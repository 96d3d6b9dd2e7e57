#include "surgery/procrustes_method.hpp"

#include "util/thread_pool.hpp"

namespace qk {

void load_groups(std::span<const TensorPair> tensors, const QkLayerLayout& layout, std::vector<GroupRows>& groups) {
  const std::int64_t hd = layout.head_dim;
  const std::int64_t n_groups = static_cast<std::int64_t>(layout.kv_groups.size());
  groups.resize(n_groups);
  for (auto& g : groups) {
    g.members.clear();
    g.columns = 0;
  }
  auto add = [&](std::int64_t g, const HeadBlock& where) {
    const TensorInfo& info = *tensors[where.tensor].sft.info;
    const auto width = static_cast<std::int64_t>(info.element_count() / std::max<std::int64_t>(info.rows(), 1));
    groups[g].members.push_back({where, groups[g].columns, width});
    groups[g].columns += width;
  };
  for (std::size_t i = 0; i < layout.query_heads.size(); ++i) {
    const std::int64_t slot = layout.group_slot_of(i);
    add(slot, layout.q_weight[i]);
    if (!layout.q_bias.empty()) add(slot, layout.q_bias[i]);
  }
  for (std::int64_t g = 0; g < n_groups; ++g) {
    add(g, layout.k_weight[g]);
    if (!layout.k_bias.empty()) add(g, layout.k_bias[g]);
  }
  std::vector<std::pair<std::int64_t, std::size_t>> items;  // (group, member)
  for (std::int64_t g = 0; g < n_groups; ++g) {
    groups[g].base.resize(hd, groups[g].columns);
    groups[g].sft.resize(hd, groups[g].columns);
    for (std::size_t m = 0; m < groups[g].members.size(); ++m) items.emplace_back(g, m);
  }
  parallel_for(items.size(), [&](std::size_t i) {
    GroupRows& group = groups[items[i].first];
    const GroupMember& m = group.members[items[i].second];
    const TensorPair& pair = tensors[m.where.tensor];
    for (const auto& [ref, rows] : {std::pair{&pair.base, &group.base}, std::pair{&pair.sft, &group.sft}}) {
      const DType dtype = ref->info->dtype;
      const std::size_t row_bytes = m.width * dtype_size(dtype);
      const auto bytes = ref->data().subspan(m.where.first_row * row_bytes, hd * row_bytes);
      for (std::int64_t k = 0; k < hd; ++k)
        decode_to_f32(dtype, bytes.subspan(k * row_bytes, row_bytes), std::span<float>(rows->data() + k * group.columns + m.first_column, m.width));
    }
  });
}

}  // namespace qk
