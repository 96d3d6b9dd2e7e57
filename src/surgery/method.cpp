#include "surgery/method.hpp"

#include <cstring>

#include "surgery/blend_method.hpp"
#include "surgery/procrustes_method.hpp"
#include "util/error.hpp"
#include "util/json.hpp"

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
    copy_base_rows(pair, out);
    outputs.push_back(std::move(out));
  }
  return outputs;
}

std::unique_ptr<SurgeryMethod> method_from_provenance(const std::string& name, const nlohmann::json& options, const std::string& where) {
  if (!options.is_object()) fail(ErrorKind::Format, "{}: method_options must be an object", where);
  const std::string field = where + ": method_options";
  if (name == "restore") return std::make_unique<RestoreMethod>();
  if (name == "procrustes")
    return std::make_unique<ProcrustesMethod>(number_field(options, "alpha", field, 1.0),
                                              parse_granularity(optional_string_field(options, "granularity", field).value_or("group")));
  if (name == "ridge") return std::make_unique<RidgeMethod>(number_field(options, "lambda", field, 0.0));
  if (name == "blend") return std::make_unique<BlendMethod>(BlendMethod::from_options(options, field));
  fail(ErrorKind::Unsupported, "{} names method '{}', which this version cannot recompute", where, name);
}

}  // namespace qk
