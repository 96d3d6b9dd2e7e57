#include "sweep/candidate_set.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "util/error.hpp"
#include "util/json.hpp"

namespace qk::sweep {

std::string Candidate::description() const {
  switch (kind) {
    case CandidateKind::Sft: return "SFT unchanged";
    case CandidateKind::Base: return "base model";
    case CandidateKind::Surgery: return spec.label();
    case CandidateKind::ReverseSurgery: return "base + SFT's: " + spec.label();
  }
  return "";
}

std::vector<Candidate> make_candidates(const CandidateSetOptions& options) {
  std::vector<Candidate> out;
  out.push_back({"sft", CandidateKind::Sft, {}});
  if (options.with_base) out.push_back({"base", CandidateKind::Base, {}});
  std::string heads;
  for (int k = 1; k <= options.top_k && k <= static_cast<int>(options.ranked_groups.size()); ++k) {
    heads += (heads.empty() ? "" : ",") + options.ranked_groups[k - 1];
    Candidate c{fmt::format("top-{}", k), CandidateKind::Surgery, {}};
    c.spec.selection.heads = HeadSpec::parse(heads);
    out.push_back(std::move(c));
  }
  if (options.per_layer && options.global_layers.size() > 1)
    for (int layer : options.global_layers) {
      Candidate c{fmt::format("layer-{}", layer), CandidateKind::Surgery, {}};
      c.spec.selection.layers = std::set<int>{layer};
      out.push_back(std::move(c));
    }
  out.push_back({"restore", CandidateKind::Surgery, {}});  // the paper's: every global layer, Q and K
  for (double alpha : options.blend_alphas) {
    Candidate c{fmt::format("blend-{}", alpha), CandidateKind::Surgery, {}};
    c.spec.method = MethodSpec::defaults(MethodKind::Blend);
    c.spec.method.alpha = alpha;
    out.push_back(std::move(c));
  }
  for (double alpha : options.procrustes_alphas) {
    Candidate c{fmt::format("qkpro-{}", alpha), CandidateKind::Surgery, {}};
    c.spec.method = MethodSpec::defaults(MethodKind::Procrustes);
    c.spec.method.alpha = alpha;
    out.push_back(std::move(c));
  }
  return out;
}

std::vector<std::string> read_ranked_groups(const std::filesystem::path& heads_json) {
  const nlohmann::json j = read_json_file(heads_json);
  const std::string where = heads_json.string();
  const nlohmann::json& list = j.is_array() ? j : array_field(j, "groups", where);
  if (!list.is_array()) fail(ErrorKind::Format, "{} is not a heads.json of `qkrestore heads` (not a list)", where);
  std::vector<std::string> groups;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string entry = fmt::format("{}[{}]", where, i);
    groups.push_back(fmt::format("{}:{}", field<int>(list[i], "layer", entry), field<int>(list[i], "kv_group", entry)));
  }
  return groups;
}

}  // namespace qk::sweep
