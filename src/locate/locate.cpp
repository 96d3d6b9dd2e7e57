#include "locate/locate.hpp"

#include <algorithm>
#include <deque>

#include <fmt/format.h>

#include "util/error.hpp"

namespace qk::locate {
namespace {

// The class's own layers within [first, last].
std::vector<int> layers_within(const TensorClass& c, int first, int last) {
  std::vector<int> out;
  for (int l : *c.layers)
    if (l >= first && l <= last) out.push_back(l);
  return out;
}

double mean_score(const std::map<std::string, double>& samples) {
  double sum = 0;
  for (const auto& [id, s] : samples) sum += s;
  return samples.empty() ? 0 : 100 * sum / static_cast<double>(samples.size());
}

SiteResult evaluate(const Site& site, View view, std::size_t depth, LocateMeasure& measure, double alpha) {
  const sweep::CandidateResult& r = measure.measure(site, view);
  const sweep::CandidateResult& reference = measure.reference(view);
  SiteResult out;
  out.site = site;
  out.view = view;
  out.depth = depth;
  out.candidate = r.candidate.name;
  for (int length : reference.recall.lengths) {
    LengthEffect e;
    e.length = length;
    if (auto it = r.recall.by_length.find(length); it != r.recall.by_length.end()) e.recall = it->second;
    e.reference = reference.recall.by_length.at(length);
    const auto mine = niah::samples_at_length(r.recall, length), theirs = niah::samples_at_length(reference.recall, length);
    e.test = paired_test(mine, theirs);
    e.effect = (view == View::Forward ? 1 : -1) * (mean_score(mine) - mean_score(theirs));
    out.effect += e.effect / static_cast<double>(reference.recall.lengths.size());
    out.significant = out.significant || e.significant(alpha);
    out.lengths.push_back(e);
  }
  if (r.reasoning.total > 0) {
    out.reasoning = r.reasoning.accuracy;
    out.reasoning_ci95 = r.reasoning.ci95;
    if (reference.reasoning.total > 0) out.reasoning_test = paired_test(r.reasoning.per_problem, reference.reasoning.per_problem);
  }
  return out;
}

}  // namespace

bool LengthEffect::significant(double alpha) const { return test.p_value < alpha && effect > 0; }

std::optional<Site> site_of(const TensorClass& tensor_class, const LayerRange& range) {
  if (!tensor_class.layers) return Site{tensor_class.name, std::nullopt};
  const std::vector<int> own = layers_within(tensor_class, range.first, range.last);
  if (own.empty()) return std::nullopt;
  return Site{tensor_class.name, LayerRange{own.front(), own.back()}};
}

LocateResult run_locate(const LocateOptions& options, LocateMeasure& measure) {
  if (options.classes.empty()) fail(ErrorKind::Usage, "locate: no tensor classes to measure");
  struct Pending {
    Site site;
    View view;
    std::size_t depth;
    const TensorClass* tensor_class;
  };
  std::deque<Pending> queue;
  for (View view : options.views)
    for (const auto& c : options.classes) {
      if (!c.layers) {
        queue.push_back({Site{c.name, std::nullopt}, view, 0, &c});
        continue;
      }
      for (const auto& range : options.ranges)
        if (auto site = site_of(c, range)) queue.push_back({*site, view, 0, &c});
    }
  LocateResult result;
  while (!queue.empty()) {
    if (options.budget && result.sites.size() == options.budget) {
      result.stopped = fmt::format("the budget of {} sites was spent with {} left to measure", options.budget, queue.size());
      break;
    }
    const Pending p = queue.front();
    queue.pop_front();
    result.sites.push_back(evaluate(p.site, p.view, p.depth, measure, options.alpha));
    if (!options.refine || !result.sites.back().significant || !p.site.layers) continue;
    const std::vector<int> own = layers_within(*p.tensor_class, p.site.layers->first, p.site.layers->last);
    if (own.size() < 2) continue;
    const std::size_t half = (own.size() + 1) / 2;  // the first half the larger
    for (const LayerRange part : {LayerRange{own.front(), own[half - 1]}, LayerRange{own[half], own.back()}})
      queue.push_back({Site{p.site.tensor_class, part}, p.view, p.depth + 1, p.tensor_class});
  }
  for (std::size_t i = 0; i < result.sites.size(); ++i)
    (result.sites[i].view == View::Forward ? result.forward : result.reverse).push_back(i);
  auto size_of = [&](std::size_t i) { return result.sites[i].site.layers ? result.sites[i].site.layers->size() : 1 << 20; };
  for (auto* ranking : {&result.forward, &result.reverse})
    std::stable_sort(ranking->begin(), ranking->end(), [&](std::size_t a, std::size_t b) {
      if (result.sites[a].effect != result.sites[b].effect) return result.sites[a].effect > result.sites[b].effect;
      return size_of(a) < size_of(b);
    });
  return result;
}

}  // namespace qk::locate
