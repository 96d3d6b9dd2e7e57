// One KV group's query and key rows side by side, in float: row k of the group matrix holds
// dimension k of every member (its query heads, their biases, its key head and bias), so the sums
// over the group's heads that QK-Pro needs (M = sum_i B_i A_i^T, and O A_i for every i) are a few
// large GEMMs over all columns instead of many small ones.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "surgery/tensor_rows.hpp"

namespace qk {

// Where one head's rows sit: in its tensor (HeadBlock) and among the group's columns.
struct GroupMember {
  HeadBlock where;
  std::int64_t first_column = 0;
  std::int64_t width = 0;  // elements per row of the tensor: the input dim, or 1 for a bias
};

struct GroupRows {
  std::vector<GroupMember> members;
  std::int64_t columns = 0;  // sum of the members' widths
  RowMatrix base, sft;       // [head_dim x columns]
};

// Every planned KV group of a layer (layout.kv_groups, in that order): query heads in order (each followed by its bias), then the key head
// and its bias. Decoded in parallel (one item per member); nothing else is read. `groups` keeps
// its matrices from the previous layer: same shapes are reused, not allocated and faulted in again.
void load_groups(std::span<const TensorPair> tensors, const QkLayerLayout& layout, std::vector<GroupRows>& groups);

}  // namespace qk
