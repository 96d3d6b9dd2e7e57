// The repairs `sweep` compares: SFT as it is and the base model (the two ends), the top-k KV groups by
// `heads` evidence for k = 1..K, each global layer alone, the paper's QK-Restore of every global layer,
// blends and QK-Pro at a few alphas. Smaller repairs come first: among repairs that tie on recall and
// reasoning the recommendation keeps the first, the one that changes the fewest weights.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "surgery/repair_spec.hpp"

namespace qk::sweep {

// Surgery: SFT with the spec's selection taken from base; ReverseSurgery: base with the same selection
// taken from SFT (`locate`'s reverse view: what SFT's change of those tensors alone does).
enum class CandidateKind { Sft, Base, Surgery, ReverseSurgery };

struct Candidate {
  std::string name;  // short, unique, used as its folder name: "restore", "layer-3", "top-2", "blend-0.5"
  CandidateKind kind = CandidateKind::Surgery;
  RepairSpec spec;  // Surgery and ReverseSurgery only
  // The label of the surgery ("base + SFT's: LABEL" for a reverse one), or "SFT unchanged" / "base model".
  std::string description() const;
};

struct CandidateSetOptions {
  std::vector<int> global_layers;              // from the restore plan
  std::vector<std::string> ranked_groups;      // "L:g", best first (heads.json)
  int top_k = 3;                               // top-1 .. top-K groups
  std::vector<double> blend_alphas = {0.5};
  std::vector<double> procrustes_alphas = {1.0};
  bool per_layer = true;
  bool with_base = true;
};

std::vector<Candidate> make_candidates(const CandidateSetOptions& options);

// "L:g" of every entry of a heads.json, best first (its "layer" and "kv_group").
std::vector<std::string> read_ranked_groups(const std::filesystem::path& heads_json);

}  // namespace qk::sweep
