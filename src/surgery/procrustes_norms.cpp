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

std::vector<NormDeviation> qk_norm_deviation(const Checkpoint& base, const Checkpoint& sft, const Selection& options,
                                             const FamilyTable& table, const std::vector<GroupAlignment>& alignments) {
  Selection with_norms = options;
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
    const std::int64_t group_size = plan.heads / plan.kv_heads, rest = hd - r;
    NormDeviation d{a.layer, a.group, 0.0};
    Eigen::VectorXd done_q, done_k;  // the last head's weights: heads sharing one [head_dim] norm give the same value
    for (std::int64_t h = 0; h < plan.heads; ++h) {
      const std::int64_t g = h / group_size;
      if (a.group >= 0 && g != a.group) continue;
      const Eigen::VectorXd dq = it->second.q.size() ? head_slice(it->second.q, h, hd) : Eigen::VectorXd::Ones(hd);
      const Eigen::VectorXd dk = it->second.k.size() ? head_slice(it->second.k, g, hd) : Eigen::VectorXd::Ones(hd);
      if (dq.size() == done_q.size() && dq == done_q && dk.size() == done_k.size() && dk == done_k) continue;
      done_q = dq;
      done_k = dk;
      // F = D_q R(t) D_k and O are both block diagonal (2x2 per rotary pair, then the non-rotary
      // block where R = I), so ||O^T F O - F||^2 is a sum over the blocks; the non-rotary block's
      // term P^T D P - D (D = D_q D_k there) does not depend on t.
      double free_dev2 = 0, free_norm2 = 0;
      if (rest > 0) {
        const Eigen::MatrixXd p = a.rotation.free.cast<double>();
        const Eigen::VectorXd diag = dq.tail(rest).cwiseProduct(dk.tail(rest));
        free_dev2 = (p.transpose() * diag.asDiagonal() * p - Eigen::MatrixXd(diag.asDiagonal())).squaredNorm();
        free_norm2 = diag.squaredNorm();
      }
      for (double t : norm_deviation_offsets()) {
        double dev2 = free_dev2, norm2 = free_norm2;
        for (std::int64_t j = 0; j < half; ++j) {
          // R(t) on pair (j, j + r/2): turned by t * theta^(-2j/r) (rotate_half RoPE).
          const double angle = t * std::pow(theta, -2.0 * j / r);
          Eigen::Matrix2d rot, o;
          rot << std::cos(angle), -std::sin(angle), std::sin(angle), std::cos(angle);
          o << a.rotation.cos[j], -a.rotation.sin[j], a.rotation.sin[j], a.rotation.cos[j];
          const Eigen::Matrix2d f = Eigen::Vector2d(dq[j], dq[j + half]).asDiagonal() * rot * Eigen::Vector2d(dk[j], dk[j + half]).asDiagonal();
          dev2 += (o.transpose() * f * o - f).squaredNorm();
          norm2 += f.squaredNorm();
        }
        if (norm2 > 0) d.max_relative = std::max(d.max_relative, std::sqrt(dev2 / norm2));
      }
    }
    result.push_back(d);
  }
  return result;
}

}  // namespace qk
