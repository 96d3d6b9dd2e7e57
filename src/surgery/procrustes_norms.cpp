#include "surgery/procrustes_norms.hpp"

#include <cmath>
#include <map>

#include "util/error.hpp"

namespace qk {

const std::vector<double>& norm_deviation_offsets() {
  static const std::vector<double> offsets = {0, 1, 3, 10, 31, 100, 316, 1000, 3162, 10000, 31623, 100000};
  return offsets;
}

double rope_theta(const nlohmann::json& config) {
  for (const nlohmann::json* root : {&config, config.contains("text_config") ? &config["text_config"] : nullptr}) {
    if (!root) continue;
    if (root->contains("rope_parameters") && (*root)["rope_parameters"].is_object() &&
        (*root)["rope_parameters"].value("rope_theta", nlohmann::json()).is_number())
      return (*root)["rope_parameters"]["rope_theta"].get<double>();
    if (root->value("rope_theta", nlohmann::json()).is_number()) return (*root)["rope_theta"].get<double>();
  }
  return 10000.0;
}

namespace {

// Norm weights of one layer, by side: [head_dim] (per head) or [heads * head_dim] (olmo3: whole projection).
struct LayerNorms {
  Eigen::VectorXd q, k;
};

Eigen::VectorXd decode_vector(const TensorRef& t) {
  RowMatrix m = decode_rows(t, 0, t.info->rows());
  return Eigen::Map<const Eigen::VectorXf>(m.data(), m.size()).cast<double>();
}

// The slice of a norm weight that head `h` sees.
Eigen::VectorXd head_slice(const Eigen::VectorXd& weight, std::int64_t h, std::int64_t head_dim) {
  if (weight.size() == head_dim) return weight;
  if (weight.size() < (h + 1) * head_dim)
    fail(ErrorKind::Unsupported, "a q/k norm weight of {} elements fits neither head_dim {} nor one weight per head", weight.size(), head_dim);
  return weight.segment(h * head_dim, head_dim);
}

}  // namespace

std::vector<NormDeviation> qk_norm_deviation(const Checkpoint& base, const Checkpoint& sft, const SurgeryOptions& options,
                                             const FamilyTable& table, const std::vector<GroupAlignment>& alignments) {
  SurgeryOptions with_norms = options;
  with_norms.with_qk_norm = true;
  const SurgeryPlan plan = make_plan(base, sft, with_norms, table);
  const Checkpoint& source = options.with_qk_norm ? base : sft;
  std::map<int, LayerNorms> norms;
  for (const auto& t : plan.tensors) {
    if (t.role == "q norm") norms[t.layer].q = decode_vector(source.at(t.name));
    if (t.role == "k norm") norms[t.layer].k = decode_vector(source.at(t.name));
  }
  const double theta = rope_theta(sft.config());
  std::vector<NormDeviation> result;
  for (const auto& a : alignments) {
    auto it = norms.find(a.layer);
    if (it == norms.end()) continue;
    const std::int64_t hd = a.rotation.head_dim, r = a.rotation.rotary_dim, half = r / 2;
    const Eigen::MatrixXd o = a.rotation.dense().cast<double>();
    const std::int64_t group_size = plan.heads / plan.kv_heads;
    NormDeviation d{a.layer, a.group, 0.0};
    for (std::int64_t h = 0; h < plan.heads; ++h) {
      const std::int64_t g = h / group_size;
      if (a.group >= 0 && g != a.group) continue;
      const Eigen::VectorXd dq = it->second.q.size() ? head_slice(it->second.q, h, hd) : Eigen::VectorXd::Ones(hd);
      const Eigen::VectorXd dk = it->second.k.size() ? head_slice(it->second.k, g, hd) : Eigen::VectorXd::Ones(hd);
      for (double t : norm_deviation_offsets()) {
        // R(t): rotate_half RoPE, pair (j, j + r/2) turned by t * theta^(-2j/r); identity on the rest.
        Eigen::MatrixXd rot = Eigen::MatrixXd::Identity(hd, hd);
        for (std::int64_t j = 0; j < half; ++j) {
          const double angle = t * std::pow(theta, -2.0 * j / r);
          rot(j, j) = rot(j + half, j + half) = std::cos(angle);
          rot(j, j + half) = -std::sin(angle);
          rot(j + half, j) = std::sin(angle);
        }
        const Eigen::MatrixXd form = dq.asDiagonal() * rot * dk.asDiagonal();
        const double denom = form.norm();
        if (denom > 0) d.max_relative = std::max(d.max_relative, (o.transpose() * form * o - form).norm() / denom);
      }
    }
    result.push_back(d);
  }
  return result;
}

}  // namespace qk
