// Where each tensor class (arch/tensor_classes.hpp) lives in one checkpoint: per tensor, the class of
// each of its rows. Read from the family's "classes" templates and its global_tensors (attn.q, attn.k,
// their norms, and the rows their row blocks leave: `rest`), from the headers alone.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "arch/layout.hpp"
#include "io/checkpoint.hpp"
#include "surgery/plan.hpp"

namespace qk {

// The rows of `tmpl` in its tensor `name` of `tensor_rows` rows (row blocks of the family table), empty
// for the whole tensor. A gated query projection gives its query rows, or all rows with `include_gate`.
// Throws a Mismatch when the blocks run past the tensor (config.json and weights disagree).
std::vector<RowRange> template_rows(const ModelLayout& layout, const TensorTemplate& tmpl, bool include_gate,
                                    const std::string& name, std::int64_t tensor_rows);

struct ClassPiece {
  std::string name;
  int layer = -1;                       // -1 outside the layer stack
  std::string tensor_class;             // a leaf of tensor_classes
  std::vector<RowRange> rows;    // empty: the whole tensor
  const TensorTemplate* tmpl = nullptr; // the global_tensors template of attn.q / attn.k pieces (head cutting)
};

struct TensorClassMap {
  std::vector<ClassPiece> pieces;        // in SFT's tensor order
  std::vector<std::string> unclassified; // tensors no class takes (a vision tower, ...): never selected by --take
};

// Error(Format) naming the tensor and the family when two class templates claim one tensor.
TensorClassMap classify_tensors(const Checkpoint& sft, const ModelLayout& layout, const std::string& layer_prefix);

}  // namespace qk
