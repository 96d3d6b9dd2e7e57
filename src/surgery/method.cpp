#include "surgery/method.hpp"

#include <cstring>

#include "surgery/blend_method.hpp"


namespace qk {

void copy_base_rows(const TensorPair& pair, std::span<std::byte> out) {
  const TensorInfo& base = *pair.base.info;
  const TensorInfo& sft = *pair.sft.info;
  auto base_bytes = pair.base.data();
  const std::uint64_t base_row = base.row_bytes(), sft_row = sft.row_bytes();
  std::vector<RowRange> rows = pair.plan->rows;
  if (rows.empty()) rows.push_back({0, pair.plan->total_rows});
  for (const auto& r : rows) {
    auto src = base_bytes.subspan(r.begin * base_row, (r.end - r.begin) * base_row);
    auto dst = out.subspan(r.begin * sft_row, (r.end - r.begin) * sft_row);
    if (base.dtype == sft.dtype) std::memcpy(dst.data(), src.data(), src.size());
    else convert_dtype(base.dtype, src, sft.dtype, dst);
  }
}

std::vector<std::vector<std::byte>> RestoreMethod::compute_layer(std::span<const TensorPair> tensors, const SurgeryPlan&) const {
  std::vector<std::vector<std::byte>> outputs;
  for (const auto& pair : tensors) {
    auto sft = pair.sft.data();
    std::vector<std::byte> out(sft.begin(), sft.end());
    if (pair.plan->weight && *pair.plan->weight != 1.0) blend_rows(pair, static_cast<float>(*pair.plan->weight), out);
    else copy_base_rows(pair, out);
    outputs.push_back(std::move(out));
  }
  return outputs;
}

const TensorRef* RestoreMethod::verbatim_source(const TensorPair& pair) const {
  const TensorInfo &base = *pair.base.info, &sft = *pair.sft.info;
  const bool blended = pair.plan->weight && *pair.plan->weight != 1.0;  // --take CLASS@L:W: computed, not copied
  return pair.plan->whole() && !blended && base.dtype == sft.dtype && base.byte_size() == sft.byte_size() ? &pair.base : nullptr;
}

}  // namespace qk
