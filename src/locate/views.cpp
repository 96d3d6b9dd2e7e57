#include "locate/views.hpp"

namespace qk::locate {

std::string candidate_name(const Site& site, View view) {
  std::string name = std::string(view_name(view)) + "-" + site.tensor_class;
  if (site.layers) name += "-" + site.layers->text();
  return name;
}

const sweep::CandidateResult& MeasuredViews::reference(View view) {
  const sweep::CandidateResult*& cached = view == View::Forward ? sft_ : base_;
  if (!cached)
    cached = &measurer_.measure(view == View::Forward ? sweep::Candidate{"sft", sweep::CandidateKind::Sft, {}}
                                                      : sweep::Candidate{"base", sweep::CandidateKind::Base, {}},
                                set_);
  return *cached;
}

const sweep::CandidateResult& MeasuredViews::measure(const Site& site, View view) {
  reference(view);  // first: its run records the prefill the site's candidate resumes from
  sweep::Candidate c{candidate_name(site, view),
                     view == View::Forward ? sweep::CandidateKind::Surgery : sweep::CandidateKind::ReverseSurgery,
                     sweep::unit_repair(site.unit())};
  return measurer_.measure(c, set_);
}

}  // namespace qk::locate
