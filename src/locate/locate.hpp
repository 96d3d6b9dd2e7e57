// `qkrestore locate`: where SFT's damage to recall lives, per tensor class and layer range, in both views
// (grid.hpp), measured by the product itself (sweep/measure.hpp), every score with its Wilson interval
// and an exact McNemar test against the view's reference over the same samples:
//   forward  SFT + base's X against SFT: recall won back (and reasoning lost, when problems are given);
//   reverse  base + SFT's X against base: recall broken.
// First one site per class and range of the grouping; then, while the budget lasts, every site whose
// effect is significant at some length (p < 0.05, in the view's direction) and that spans more than one
// of its class's layers is split in two halves, each measured in the same view.
// Ranked per view by the effect (recall points won back / broken, mean over the lengths); ties go to the
// smaller site, so a single layer that does what its range does is named first.
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "locate/grid.hpp"
#include "sweep/measure.hpp"
#include "sweep/units.hpp"
#include "util/statistics.hpp"

namespace qk::locate {

using sweep::TensorClass;

struct LocateOptions {
  std::vector<TensorClass> classes;  // in the order the tables list them
  std::vector<LayerRange> ranges;    // the first grouping
  std::vector<View> views = {View::Forward, View::Reverse};
  bool refine = true;
  std::size_t budget = 0;            // sites measured at most (references not counted); 0: no limit
  double alpha = 0.05;               // significance that makes a site worth refining
};

// What locate needs measured: the references and one site in one view (its candidate named by the caller).
class LocateMeasure {
 public:
  virtual ~LocateMeasure() = default;
  virtual const sweep::CandidateResult& reference(View view) = 0;  // SFT (forward), base (reverse)
  virtual const sweep::CandidateResult& measure(const Site& site, View view) = 0;
};

// Recall of a site at one length against its view's reference, paired on the same samples.
struct LengthEffect {
  int length = 0;
  niah::Cell recall, reference;
  double effect = 0;  // points: won back (forward) or broken (reverse); negative: the other way
  PairedTest test;    // the site against the reference
  bool significant(double alpha) const;  // p < alpha with the effect positive
};

struct SiteResult {
  Site site;
  View view = View::Forward;
  std::size_t depth = 0;               // 0: the grouping; n: refined n times
  std::string candidate;               // the measured candidate's name
  std::vector<LengthEffect> lengths;   // ascending
  double effect = 0;                   // mean over the lengths
  bool significant = false;            // at some length
  std::optional<double> reasoning;     // percent, when measured
  Interval reasoning_ci95;
  std::optional<PairedTest> reasoning_test;  // against the reference
};

struct LocateResult {
  std::vector<SiteResult> sites;                    // in the order measured
  std::vector<std::size_t> forward, reverse;        // indices into sites, ranked
  std::string stopped;                              // "" or why refinement stopped early (the budget)
  const std::vector<std::size_t>& ranking(View view) const { return view == View::Forward ? forward : reverse; }
};

LocateResult run_locate(const LocateOptions& options, LocateMeasure& measure);

// The site of a class over a range: its own layers within the range (none inside: nullopt).
std::optional<Site> site_of(const TensorClass& tensor_class, const LayerRange& range);

}  // namespace qk::locate
