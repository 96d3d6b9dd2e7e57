// A surgery method computes, for one layer at a time, the output bytes of the planned tensors
// from their base and SFT values. Restore copies base rows; blend and QK-Pro mix or align them.
// Every method is deterministic, so `verify` recomputes its output and compares bytes.
#pragma once
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/checkpoint.hpp"
#include "surgery/plan.hpp"
#include "surgery/repair_spec.hpp"

namespace qk {

struct TensorPair {
  const PlannedTensor* plan;
  TensorRef base;
  TensorRef sft;
};

class SurgeryMethod {
 public:
  virtual ~SurgeryMethod() = default;
  // The method and its parameters as a typed value (repair_spec.hpp): what qkrestore.json records,
  // through the repair codec, so that `verify` rebuilds this method with RepairSpec::make_method().
  virtual MethodSpec spec() const = 0;
  std::string name() const { return method_name(spec().kind); }
  // Returns one buffer per input, each the full tensor in SFT's dtype and shape: SFT's bytes outside
  // the planned rows, the method's result inside them.
  virtual std::vector<std::vector<std::byte>> compute_layer(std::span<const TensorPair> tensors, const SurgeryPlan& plan) const = 0;
  // The input tensor whose bytes are exactly the output for `pair`, when there is one; the writer then
  // copies it file to file instead of calling compute_layer (no buffer, no decoding).
  virtual const TensorRef* verbatim_source(const TensorPair&) const { return nullptr; }
};

// QK-Restore (paper, Algorithm 1): the planned rows come from base, converted to SFT's dtype; a planned
// tensor with a weight below 1 (--take CLASS@L:W) is blended at that weight instead (blend_method.hpp).
class RestoreMethod final : public SurgeryMethod {
 public:
  MethodSpec spec() const override { return MethodSpec::defaults(MethodKind::Restore); }
  std::vector<std::vector<std::byte>> compute_layer(std::span<const TensorPair> tensors, const SurgeryPlan& plan) const override;
  const TensorRef* verbatim_source(const TensorPair& pair) const override;  // base's tensor, when all its rows are restored as they are
};

// Copies base's bytes of `rows` into `out` (which holds SFT's bytes), converting dtypes if needed.
void copy_base_rows(const TensorPair& pair, std::span<std::byte> out);

}  // namespace qk
