#include "surgery/procrustes_solver.hpp"

#include <cmath>

#include <Eigen/SVD>

namespace qk {

AlignmentCross::AlignmentCross(std::int64_t head_dim, std::int64_t rotary_dim)
    : m11(rotary_dim / 2), m12(rotary_dim / 2), m21(rotary_dim / 2), m22(rotary_dim / 2),
      free(Eigen::MatrixXd::Zero(head_dim - rotary_dim, head_dim - rotary_dim)), head_dim_(head_dim), rotary_dim_(rotary_dim) {}

void AlignmentCross::add(const RowMatrix& sft, const RowMatrix& base) {
  const std::int64_t half = rotary_dim_ / 2, rest = head_dim_ - rotary_dim_;
  for (std::int64_t j = 0; j < half; ++j) {
    // 2x2 block of B A^T on dims (j, j + half): row dot products.
    m11[j] += sft.row(j).cast<double>().dot(base.row(j).cast<double>());
    m12[j] += sft.row(j).cast<double>().dot(base.row(j + half).cast<double>());
    m21[j] += sft.row(j + half).cast<double>().dot(base.row(j).cast<double>());
    m22[j] += sft.row(j + half).cast<double>().dot(base.row(j + half).cast<double>());
  }
  if (rest > 0) {
    // The big product stays in float (one gemm); its [rest x rest] result is accumulated in double.
    RowMatrix product = sft.bottomRows(rest) * base.bottomRows(rest).transpose();
    free += product.cast<double>();
  }
}

void AlignmentCross::add(const AlignmentCross& other) {
  for (std::size_t j = 0; j < m11.size(); ++j) {
    m11[j] += other.m11[j];
    m12[j] += other.m12[j];
    m21[j] += other.m21[j];
    m22[j] += other.m22[j];
  }
  free += other.free;
}

RopeCommutingRotation solve_rope_procrustes(const AlignmentCross& m) {
  RopeCommutingRotation o;
  o.head_dim = m.head_dim();
  o.rotary_dim = m.rotary_dim();
  for (std::size_t j = 0; j < m.m11.size(); ++j) {
    const double theta = std::atan2(m.m21[j] - m.m12[j], m.m11[j] + m.m22[j]);  // atan2(0, 0) = 0: identity
    o.cos.push_back(static_cast<float>(std::cos(theta)));
    o.sin.push_back(static_cast<float>(std::sin(theta)));
  }
  const std::int64_t rest = o.head_dim - o.rotary_dim;
  if (rest > 0) {
    Eigen::BDCSVD<Eigen::MatrixXd> svd(m.free, Eigen::ComputeFullU | Eigen::ComputeFullV);
    o.free = (svd.matrixU() * svd.matrixV().transpose()).cast<float>();
  }
  return o;
}

RowMatrix RopeCommutingRotation::dense() const {
  RowMatrix d = RowMatrix::Zero(head_dim, head_dim);
  const std::int64_t half = rotary_dim / 2;
  for (std::int64_t j = 0; j < half; ++j) {
    d(j, j) = cos[j];
    d(j, j + half) = -sin[j];
    d(j + half, j) = sin[j];
    d(j + half, j + half) = cos[j];
  }
  if (head_dim > rotary_dim) d.bottomRightCorner(head_dim - rotary_dim, head_dim - rotary_dim) = free;
  return d;
}

RowMatrix RopeCommutingRotation::apply(const RowMatrix& a) const {
  RowMatrix out(a.rows(), a.cols());
  const std::int64_t half = rotary_dim / 2, rest = head_dim - rotary_dim;
  for (std::int64_t j = 0; j < half; ++j) {
    out.row(j) = cos[j] * a.row(j) - sin[j] * a.row(j + half);
    out.row(j + half) = sin[j] * a.row(j) + cos[j] * a.row(j + half);
  }
  if (rest > 0) out.bottomRows(rest).noalias() = free * a.bottomRows(rest);
  return out;
}

double RopeCommutingRotation::angle(std::int64_t pair) const { return std::atan2(sin[pair], cos[pair]); }

}  // namespace qk
