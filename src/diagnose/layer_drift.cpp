#include "diagnose/layer_drift.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

#include <Eigen/Eigenvalues>
#include <Eigen/SVD>
#include <fmt/format.h>

#include "surgery/procrustes_solver.hpp"
#include "surgery/tensor_rows.hpp"
#include "util/error.hpp"

namespace qk::diagnose {
namespace {

using Matrix = Eigen::MatrixXd;
using Rows = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

Rows load(const TensorRef& t, const HeadBlock& b, std::int64_t hd) { return decode_rows(t, b.first_row, hd).cast<double>(); }

// The [head_dim x head_dim] products every metric of one head is built from (double precision, so
// that a drift of zero comes out as zero and not as sqrt(float epsilon)).
struct HeadProducts {
  Rows base, sft;
  Matrix gram_base, gram_sft, cross;  // B_b B_b^T, B_s B_s^T, B_s B_b^T
};

HeadProducts products(const TensorPair& pair, const HeadBlock& b, std::int64_t hd) {
  HeadProducts p{load(pair.base, b, hd), load(pair.sft, b, hd), {}, {}, {}};
  p.gram_base = p.base * p.base.transpose();
  p.gram_sft = p.sft * p.sft.transpose();
  p.cross = p.sft * p.base.transpose();
  return p;
}

double relative(double diff2, double base2) { return base2 > 0 ? std::sqrt(std::max(0.0, diff2) / base2) : 0.0; }

double drift(const HeadProducts& p) { return relative(p.gram_sft.trace() + p.gram_base.trace() - 2 * p.cross.trace(), p.gram_base.trace()); }

// G^-1/2 on the range of G (pseudo-inverse square root: a rank-deficient head still has angles).
Matrix inverse_sqrt(const Matrix& g) {
  Eigen::SelfAdjointEigenSolver<Matrix> eig(g);
  const double floor = std::max(eig.eigenvalues().maxCoeff(), 0.0) * 1e-12;
  Eigen::VectorXd d = eig.eigenvalues().unaryExpr([&](double v) { return v > floor ? 1.0 / std::sqrt(v) : 0.0; });
  return eig.eigenvectors() * d.asDiagonal() * eig.eigenvectors().transpose();
}

// Principal angles between row spaces: cosines are the singular values of
// Q_b^T Q_s = G_b^-1/2 (B_b B_s^T) G_s^-1/2 (Björck & Golub 1973, through the Gram matrices).
std::pair<double, double> principal_angles(const HeadProducts& p) {
  const Matrix m = inverse_sqrt(p.gram_base) * p.cross.transpose() * inverse_sqrt(p.gram_sft);
  Eigen::JacobiSVD<Matrix> svd(m);
  const auto& s = svd.singularValues();
  double mean = 0, worst = 0;
  const Eigen::Index rank = std::min<Eigen::Index>(s.size(), std::min(p.base.cols(), p.base.rows()));
  for (Eigen::Index i = 0; i < rank; ++i) {
    const double angle = std::acos(std::clamp(s[i], -1.0, 1.0)) * 180.0 / std::numbers::pi;
    mean += angle / rank;
    worst = std::max(worst, angle);
  }
  return {mean, worst};
}

}  // namespace

LayerDrift global_layer_drift(std::span<const TensorPair> tensors, const SurgeryPlan& plan, double rope_theta) {
  LayerDrift result;
  result.kind = "global";
  const QkLayerLayout layout = locate_qk_heads(tensors, plan, "diagnose");
  result.layer = layout.layer;
  const std::int64_t hd = layout.head_dim, r = plan.rotary_dim, half = r / 2;

  std::vector<HeadProducts> keys;
  for (const auto& b : layout.k_weight) keys.push_back(products(tensors[b.tensor], b, hd));
  std::vector<HeadProducts> queries;
  for (const auto& b : layout.q_weight) queries.push_back(products(tensors[b.tensor], b, hd));

  // The group's RoPE-commuting rotation, from the same cross products QK-Pro uses.
  auto cross_of = [&](const Matrix& c) {
    AlignmentCross m(hd, r);
    for (std::int64_t j = 0; j < half; ++j) {
      m.m11[j] = c(j, j);
      m.m12[j] = c(j, j + half);
      m.m21[j] = c(j + half, j);
      m.m22[j] = c(j + half, j + half);
    }
    m.free = c.bottomRightCorner(hd - r, hd - r);
    return m;
  };
  std::vector<Matrix> rotations;
  for (std::int64_t g = 0; g < layout.kv_heads; ++g) {
    Matrix c = keys[g].cross;
    for (std::int64_t h = 0; h < layout.heads; ++h)
      if (layout.kv_head_of(h) == g) c += queries[h].cross;
    rotations.push_back(solve_rope_procrustes(cross_of(c)).dense().cast<double>());
  }

  for (std::int64_t h = 0; h < layout.heads; ++h) {
    const std::int64_t g = layout.kv_head_of(h);
    const HeadProducts &q = queries[h], &k = keys[g];
    HeadDrift d;
    d.head = static_cast<int>(h);
    d.kv_head = static_cast<int>(g);
    d.q_drift = drift(q);
    d.k_drift = drift(k);
    // ||F||^2 = tr(G_q G_k), <F_s, F_b> = tr(C_q C_k^T) for F = Q^T K (all [hd x hd] products).
    const double fb = (q.gram_base * k.gram_base).trace(), fs = (q.gram_sft * k.gram_sft).trace();
    const double fsb = (q.cross * k.cross.transpose()).trace();
    d.form_drift = relative(fs + fb - 2 * fsb, fb);
    // ||O A - B||^2 = ||A||^2 + ||B||^2 - 2 tr(O^T B A^T), over the head's query rows and its key rows.
    const double moved = q.gram_sft.trace() + q.gram_base.trace() - 2 * q.cross.trace() + k.gram_sft.trace() + k.gram_base.trace() -
                         2 * k.cross.trace();
    const Matrix& o = rotations[g];
    const double residual = q.gram_sft.trace() + q.gram_base.trace() - 2 * (o.transpose() * q.cross).trace() + k.gram_sft.trace() +
                            k.gram_base.trace() - 2 * (o.transpose() * k.cross).trace();
    d.rotation_share = moved > 0 ? 1.0 - std::max(0.0, residual) / moved : 1.0;
    std::tie(d.q_angle_mean, d.q_angle_max) = principal_angles(q);
    std::tie(d.k_angle_mean, d.k_angle_max) = principal_angles(k);
    result.heads.push_back(d);
  }

  // Bands: the rotary pairs in up to 8 groups of consecutive frequencies (pair j turns by
  // t * theta^(-2j/r): small j = short wavelength = local), then the non-rotary dims.
  auto band_drift = [&](const std::vector<std::int64_t>& dims) {
    double diff = 0, base = 0;
    for (const auto* heads : {&queries, &keys})
      for (const auto& p : *heads)
        for (std::int64_t i : dims) {
          diff += (p.sft.row(i) - p.base.row(i)).squaredNorm();
          base += p.base.row(i).squaredNorm();
        }
    return relative(diff, base);
  };
  const std::int64_t band_count = std::min<std::int64_t>(8, half);
  for (std::int64_t band = 0; band < band_count; ++band) {
    const std::int64_t first = band * half / band_count, last = (band + 1) * half / band_count - 1;
    std::vector<std::int64_t> dims;
    for (std::int64_t j = first; j <= last; ++j) {
      dims.push_back(j);
      dims.push_back(j + half);
    }
    auto wavelength = [&](std::int64_t j) { return 2 * std::numbers::pi * std::pow(rope_theta, 2.0 * j / r); };
    result.bands.push_back({fmt::format("pairs {}-{}", first, last), wavelength(first), wavelength(last), band_drift(dims)});
  }
  if (hd > r) {
    std::vector<std::int64_t> dims;
    for (std::int64_t i = r; i < hd; ++i) dims.push_back(i);
    result.bands.push_back({r == 0 ? "all dims (NoPE)" : "non-rotary", 0, 0, band_drift(dims)});
  }
  return result;
}

std::vector<TensorDrift> tensor_drifts(const Checkpoint& base, const Checkpoint& sft, const std::vector<std::string>& names) {
  std::vector<TensorDrift> result;
  for (const auto& name : names) {
    TensorRef b = base.at(name), s = sft.at(name);
    if (!dtype_is_float(b.info->dtype) || !dtype_is_float(s.info->dtype) || b.info->shape != s.info->shape) continue;
    std::vector<float> bv(b.info->element_count()), sv(s.info->element_count());
    decode_to_f32(b.info->dtype, b.data(), bv);
    decode_to_f32(s.info->dtype, s.data(), sv);
    double diff = 0, norm = 0;
    for (std::size_t i = 0; i < bv.size(); ++i) {
      diff += (double(sv[i]) - bv[i]) * (double(sv[i]) - bv[i]);
      norm += double(bv[i]) * bv[i];
    }
    b.file->file().release(b.file->data_start() + b.info->begin, b.info->byte_size());
    s.file->file().release(s.file->data_start() + s.info->begin, s.info->byte_size());
    result.push_back({name, relative(diff, norm), std::sqrt(norm)});
  }
  return result;
}

}  // namespace qk::diagnose
