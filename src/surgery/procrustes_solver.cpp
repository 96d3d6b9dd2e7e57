#include "surgery/procrustes_solver.hpp"

#include <cmath>

#include <Eigen/SVD>
#include <cblas.h>

namespace qk {

AlignmentCross::AlignmentCross(std::int64_t head_dim, std::int64_t rotary_dim)
    : m11(rotary_dim / 2), m12(rotary_dim / 2), m21(rotary_dim / 2), m22(rotary_dim / 2),
      free(Eigen::MatrixXd::Zero(head_dim - rotary_dim, head_dim - rotary_dim)), head_dim_(head_dim), rotary_dim_(rotary_dim) {}

void AlignmentCross::add(const RowMatrix& sft, const RowMatrix& base) { add(sft.data(), base.data(), sft.cols(), sft.cols()); }

void AlignmentCross::add(const float* sft, const float* base, std::int64_t n, std::int64_t stride) {
  const std::int64_t half = rotary_dim_ / 2, rest = head_dim_ - rotary_dim_;
  auto dot = [&](std::int64_t sft_row, std::int64_t base_row) {  // in double: n products of floats, no cancellation worries
    const float *x = sft + sft_row * stride, *y = base + base_row * stride;
    double sum = 0;
    for (std::int64_t c = 0; c < n; ++c) sum += double(x[c]) * double(y[c]);
    return sum;
  };
  for (std::int64_t j = 0; j < half; ++j) {
    // 2x2 block of B A^T on dims (j, j + half): row dot products.
    m11[j] += dot(j, j);
    m12[j] += dot(j, j + half);
    m21[j] += dot(j + half, j);
    m22[j] += dot(j + half, j + half);
  }
  if (rest > 0) {
    // The big product stays in float: one sgemm (OpenBLAS: AVX2 kernels and threads whatever this
    // binary was compiled for; it splits rows/columns, not the sum, so the result does not depend on
    // the thread count). Its [rest x rest] result is accumulated in double, one head at a time, so
    // the float sums run over n terms only.
    // product = B[r:, :] A[r:, :]^T   ([rest x n] times [n x rest])
    const int k = static_cast<int>(rest), ld = static_cast<int>(stride);
    RowMatrix product(rest, rest);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, k, k, static_cast<int>(n), 1.0f, sft + rotary_dim_ * stride, ld,
                base + rotary_dim_ * stride, ld, 0.0f, product.data(), k);
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
  if (rest > 0) {
    // out[r:, :] = free [rest x rest] times a[r:, :] [rest x n] (sgemm, as in AlignmentCross::add)
    const int n = static_cast<int>(a.cols()), k = static_cast<int>(rest);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, k, n, k, 1.0f, free.data(), k, a.data() + rotary_dim * n, n, 0.0f,
                out.data() + rotary_dim * n, n);
  }
  return out;
}

double RopeCommutingRotation::angle(std::int64_t pair) const { return std::atan2(sin[pair], cos[pair]); }

}  // namespace qk
