// How a batched forward maps rows of the activation matrix to sequences: the rows
// [first_row, first_row + rows) belong to one sequence whose earlier tokens are in `cache`
// and whose first new token sits at absolute position `position`.
#pragma once
#include <cstddef>
#include <vector>

#include "engine/causal_lm.hpp"

namespace qk::engine {

struct SegmentRows {
  LayerCache* cache;
  std::size_t first_row;
  std::size_t rows;
  std::size_t position;
};

using BatchRows = std::vector<SegmentRows>;

}  // namespace qk::engine
