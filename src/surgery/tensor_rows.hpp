// Float access to the query/key rows of one global layer, head by head, for the methods that do
// arithmetic on them (QK-Pro, ridge, blend). Restore never decodes: it copies bytes.
#pragma once
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include <Eigen/Core>

#include "surgery/method.hpp"

namespace qk {

// Row-major, like the tensors on disk: row i of a [rows x cols] tensor is contiguous.
using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// head_dim consecutive rows of tensors[tensor] starting at first_row (for a bias: elements).
struct HeadBlock {
  std::size_t tensor = 0;
  std::int64_t first_row = 0;
};

// Where every query and key head of one layer lives among the layer's planned tensors.
// Query head h reads key head h / (heads / kv_heads), as transformers' repeat_kv does.
struct QkLayerLayout {
  int layer = -1;
  std::int64_t heads = 0, kv_heads = 0, head_dim = 0;
  // The heads planned (all of them, unless --heads chose some): q_weight[i] is query head
  // query_heads[i], k_weight[g] is KV head kv_groups[g].
  std::vector<std::int64_t> query_heads, kv_groups;
  std::vector<HeadBlock> q_weight, k_weight;  // one per planned query head / key head
  std::vector<HeadBlock> q_bias, k_bias;      // empty when the layer has no bias
  std::vector<std::size_t> copied;            // other planned tensors (q/k norms): taken from base as restore does
  std::int64_t kv_head_of(std::int64_t h) const { return h / (heads / kv_heads); }  // h: a real query head index
  // Position in kv_groups of the group that query head query_heads[i] reads, or -1 when it is not planned.
  std::int64_t group_slot_of(std::size_t i) const;
};

// Splits the planned rows by role: "q weight" rows are heads*head_dim rows in head order, "k weight"
// rows kv_heads*head_dim (with --heads: those of the selected heads, in head order); a fused "q weight+k weight" tensor has the query rows first. Throws
// Error(Unsupported) naming `method` and the tensor for what has no per-head Q/K geometry
// (--tensors selections, MLA pieces, adapters).
QkLayerLayout locate_qk_heads(std::span<const TensorPair> tensors, const SurgeryPlan& plan, std::string_view method);

// Decodes rows [first_row, first_row + count) of a tensor into a [count x row elements] float matrix.
RowMatrix decode_rows(const TensorRef& tensor, std::int64_t first_row, std::int64_t count);

// Encodes `values` into rows starting at first_row of `out`, which holds a whole tensor shaped as `like`.
void encode_rows(const RowMatrix& values, const TensorInfo& like, std::span<std::byte> out, std::int64_t first_row);

// The SFT bytes of every input, the starting point of each output buffer.
std::vector<std::vector<std::byte>> copy_sft_bytes(std::span<const TensorPair> tensors);

}  // namespace qk
