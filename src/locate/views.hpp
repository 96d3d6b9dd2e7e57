// locate's measurements through sweep's Measurer: a site in the forward view is the candidate
// `restore --take UNIT` (SFT + base's unit), in the reverse view the same spec on base (base + SFT's
// unit); the references are SFT and base as they are. Candidates are named VIEW-CLASS-LAYERS
// ("forward-mlp-0-2"), their results kept in OUT/candidates/NAME (resumable, as sweep's).
#pragma once
#include <filesystem>

#include "locate/locate.hpp"

namespace qk::locate {

class MeasuredViews final : public LocateMeasure {
 public:
  MeasuredViews(sweep::Measurer& measurer, sweep::MeasureSet set) : measurer_(measurer), set_(std::move(set)) {}
  const sweep::CandidateResult& reference(View view) override;
  const sweep::CandidateResult& measure(const Site& site, View view) override;

 private:
  sweep::Measurer& measurer_;
  sweep::MeasureSet set_;
  const sweep::CandidateResult* sft_ = nullptr;
  const sweep::CandidateResult* base_ = nullptr;
};

// "forward-mlp-0-2": a folder name for the site in the view.
std::string candidate_name(const Site& site, View view);

}  // namespace qk::locate
