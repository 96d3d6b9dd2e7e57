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

namespace qk {

struct TensorPair {
  const PlannedTensor* plan;
  TensorRef base;
  TensorRef sft;
};

class SurgeryMethod {
 public:
  virtual ~SurgeryMethod() = default;
  virtual std::string name() const = 0;
  virtual nlohmann::json options() const = 0;
  // Returns one buffer per input, each the full tensor in SFT's dtype and shape: SFT's bytes outside
  // the planned rows, the method's result inside them.
  virtual std::vector<std::vector<std::byte>> compute_layer(std::span<const TensorPair> tensors, const SurgeryPlan& plan) const = 0;
};

// QK-Restore (paper, Algorithm 1): the planned rows come from base, converted to SFT's dtype.
class RestoreMethod final : public SurgeryMethod {
 public:
  std::string name() const override { return "restore"; }
  nlohmann::json options() const override { return nlohmann::json::object(); }
  std::vector<std::vector<std::byte>> compute_layer(std::span<const TensorPair> tensors, const SurgeryPlan& plan) const override;
};

// Rebuilds a method from the name and options recorded in qkrestore.json (for `verify`); a malformed
// option is an Error(Format) naming `where` (the file) and the field.
std::unique_ptr<SurgeryMethod> method_from_provenance(const std::string& name, const nlohmann::json& options, const std::string& where);

// Copies base's bytes of `rows` into `out` (which holds SFT's bytes), converting dtypes if needed.
void copy_base_rows(const TensorPair& pair, std::span<std::byte> out);

}  // namespace qk
