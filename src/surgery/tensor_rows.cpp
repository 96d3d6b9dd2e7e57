#include "surgery/tensor_rows.hpp"

#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "util/error.hpp"

namespace qk {
namespace {

std::vector<std::int64_t> selected_row_list(const PlannedTensor& t) {
  std::vector<std::int64_t> rows;
  if (t.whole()) {
    for (std::int64_t r = 0; r < t.total_rows; ++r) rows.push_back(r);
    return rows;
  }
  for (const auto& range : t.rows)
    for (auto r = range.begin; r < range.end; ++r) rows.push_back(r);
  return rows;
}

// Cuts `rows` (from offset `skip`) into `count` blocks of head_dim consecutive rows.
std::vector<HeadBlock> head_blocks(const PlannedTensor& t, std::size_t index, const std::vector<std::int64_t>& rows, std::int64_t skip,
                                   std::int64_t count, std::int64_t head_dim) {
  std::vector<HeadBlock> blocks;
  for (std::int64_t h = 0; h < count; ++h) {
    const std::int64_t first = rows[skip + h * head_dim];
    if (rows[skip + (h + 1) * head_dim - 1] != first + head_dim - 1)
      fail(ErrorKind::Unsupported, "tensor '{}': the rows of head {} are not {} consecutive rows", t.name, h, head_dim);
    blocks.push_back({index, first});
  }
  return blocks;
}

std::string plan_heads_text(const LayerHeads& selected) {
  return fmt::format("KV groups [{}], query heads [{}]", fmt::join(selected.kv_groups, ","), fmt::join(selected.query_heads, ","));
}

}  // namespace

QkLayerLayout locate_qk_heads(std::span<const TensorPair> tensors, const SurgeryPlan& plan, std::string_view method) {
  QkLayerLayout layout;
  layout.heads = plan.heads;
  layout.kv_heads = plan.kv_heads;
  layout.head_dim = plan.head_dim;
  if (plan.heads <= 0 || plan.kv_heads <= 0 || plan.head_dim <= 0 || plan.heads % plan.kv_heads != 0)
    fail(ErrorKind::Unsupported, "{} needs heads, kv_heads and head_dim from config.json (heads a multiple of kv_heads); got {}, {}, {}",
         method, plan.heads, plan.kv_heads, plan.head_dim);
  const int layer_index = tensors.empty() ? -1 : tensors.front().plan->layer;
  if (const LayerHeads* selected = plan.heads_of(layer_index)) {
    layout.query_heads.assign(selected->query_heads.begin(), selected->query_heads.end());
    layout.kv_groups.assign(selected->key_heads.begin(), selected->key_heads.end());
  } else {
    for (std::int64_t h = 0; h < plan.heads; ++h) layout.query_heads.push_back(h);
    for (std::int64_t g = 0; g < plan.kv_heads; ++g) layout.kv_groups.push_back(g);
  }
  if (const LayerHeads* selected = plan.heads_of(layer_index); selected && !selected->whole_groups_only)
    fail(ErrorKind::Unsupported, "{}: --heads selects single query heads of layer {} without their KV group ({}); {} works on whole KV "
         "groups (a query head's transform must also act on its key head, which the group's other query heads share): select "
         "groups like {}:0, or use restore or blend for single query heads", method, layer_index, plan_heads_text(*selected), method, layer_index);
  const std::int64_t n_q = static_cast<std::int64_t>(layout.query_heads.size()), n_k = static_cast<std::int64_t>(layout.kv_groups.size());
  const std::int64_t hd = plan.head_dim, q_rows = n_q * hd, k_rows = n_k * hd;
  // MLA (latent query/key projections) and per-layer adapters give a layer several query or key
  // weight tensors: no single W_Q,h / W_K,g per head to turn.
  std::map<char, std::vector<std::string>> weights;
  for (const auto& pair : tensors)
    for (char side : {'q', 'k'})
      if (pair.plan->role.find(std::string(1, side) + " weight") != std::string::npos) weights[side].push_back(pair.plan->name);
  for (const auto& [side, names] : weights)
    if (names.size() > 1)
      fail(ErrorKind::Unsupported, "{}: layer {} has {} {} weight tensors ({}): its attention is not one W_Q and one W_K per head "
           "(MLA latent projections or per-layer adapters); {} refuses it, use restore or blend (docs/qkpro.md)",
           method, tensors.front().plan->layer, names.size(), side == 'q' ? "query" : "key", fmt::format("{}", fmt::join(names, ", ")), method);
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const PlannedTensor& t = *tensors[i].plan;
    layout.layer = t.layer;
    const auto rows = selected_row_list(t);
    const std::int64_t n = static_cast<std::int64_t>(rows.size());
    const std::size_t columns = tensors[i].sft.info->shape.size();
    auto expect_rows = [&](std::int64_t want, const char* what) {
      if (n != want)
        fail(ErrorKind::Unsupported, "{}: tensor '{}' ({}) has {} selected rows, but {} are {} rows (heads {}, kv_heads {}, head_dim {})",
             method, t.name, t.role, n, what, want, plan.heads, plan.kv_heads, hd);
    };
    if (t.role == "q weight" || t.role == "k weight") {
      const bool q = t.role[0] == 'q';
      expect_rows(q ? q_rows : k_rows, q ? "heads x head_dim query" : "kv_heads x head_dim key");
      if (columns != 2) fail(ErrorKind::Unsupported, "{}: tensor '{}' is not a matrix", method, t.name);
      (q ? layout.q_weight : layout.k_weight) = head_blocks(t, i, rows, 0, q ? n_q : n_k, hd);
    } else if (t.role == "q weight+k weight" || t.role == "k weight+q weight") {
      expect_rows(q_rows + k_rows, "fused query+key");
      layout.q_weight = head_blocks(t, i, rows, 0, n_q, hd);
      layout.k_weight = head_blocks(t, i, rows, q_rows, n_k, hd);
    } else if (t.role == "q bias" || t.role == "k bias") {
      const bool q = t.role[0] == 'q';
      expect_rows(q ? q_rows : k_rows, q ? "heads x head_dim query bias" : "kv_heads x head_dim key bias");
      (q ? layout.q_bias : layout.k_bias) = head_blocks(t, i, rows, 0, q ? n_q : n_k, hd);
    } else if (t.role == "q norm" || t.role == "k norm") {
      layout.copied.push_back(i);
    } else {
      fail(ErrorKind::Unsupported,
           "{}: tensor '{}' (role '{}') has no per-head query/key geometry this method can align; use restore or blend for it",
           method, t.name, t.role);
    }
  }
  if (layout.q_weight.empty() || layout.k_weight.empty())
    fail(ErrorKind::Unsupported, "{}: layer {} lacks {} weight rows in the plan (the family's Q/K layout, e.g. MLA or adapters, is not "
         "per-head W_Q/W_K; see docs/qkpro.md)", method, layout.layer, layout.q_weight.empty() ? "query" : "key");
  return layout;
}

std::int64_t QkLayerLayout::group_slot_of(std::size_t i) const {
  const std::int64_t g = kv_head_of(query_heads.at(i));
  for (std::size_t s = 0; s < kv_groups.size(); ++s)
    if (kv_groups[s] == g) return static_cast<std::int64_t>(s);
  return -1;
}

RowMatrix decode_rows(const TensorRef& tensor, std::int64_t first_row, std::int64_t count) {
  const TensorInfo& info = *tensor.info;
  const std::int64_t row_elements = static_cast<std::int64_t>(info.element_count() / std::max<std::int64_t>(info.rows(), 1));
  RowMatrix values(count, row_elements);
  const std::size_t width = dtype_size(info.dtype);
  decode_to_f32(info.dtype, tensor.data().subspan(first_row * row_elements * width, count * row_elements * width),
                std::span<float>(values.data(), values.size()));
  return values;
}

void encode_rows(const RowMatrix& values, const TensorInfo& like, std::span<std::byte> out, std::int64_t first_row) {
  const std::size_t width = dtype_size(like.dtype);
  const std::int64_t row_elements = values.cols();
  encode_from_f32(like.dtype, std::span<const float>(values.data(), values.size()),
                  out.subspan(first_row * row_elements * width, values.size() * width));
}

std::vector<std::vector<std::byte>> copy_sft_bytes(std::span<const TensorPair> tensors) {
  std::vector<std::vector<std::byte>> outputs;
  for (const auto& pair : tensors) {
    auto sft = pair.sft.data();
    outputs.emplace_back(sft.begin(), sft.end());
  }
  return outputs;
}

}  // namespace qk
