#include "diagnose/layer_drift.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

#include <Eigen/Cholesky>
#include <Eigen/Eigenvalues>
#include <Eigen/SVD>
#include <cblas.h>
#include <fmt/format.h>

#include "surgery/procrustes_solver.hpp"
#include "surgery/tensor_rows.hpp"
#include "util/error.hpp"
#include "util/thread_pool.hpp"

namespace qk::diagnose {
namespace {

using Matrix = Eigen::MatrixXd;
using Rows = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// What every metric of one head is built from: per row (query/key dimension) the squared change
// and squared base norm, and three [head_dim x head_dim] products, all in double precision (so
// that a drift of zero comes out as zero and a pure rotation's angles as ~1e-8 degrees, not as
// sqrt(float epsilon)). The head's rows themselves are dropped once these are formed.
struct HeadProducts {
  Eigen::VectorXd row_diff2, row_base2;  // [head_dim]
  Matrix gram_base, gram_sft, cross;     // B_b B_b^T, B_s B_s^T, B_s B_b^T
  double angle_mean = 0, angle_max = 0;  // principal angles (degrees) between the base and SFT row spaces
};

Rows decode_double(const TensorRef& t, const HeadBlock& b, std::int64_t hd) { return decode_rows(t, b.first_row, hd).cast<double>(); }

// gram = rows rows^T ([hd x n] times [n x hd]); to column-major dsyrk the rows are an [n x hd]
// matrix A, so this is A^T A. It fills the upper triangle; mirrored here.
Matrix gram(const Rows& rows) {
  const int hd = static_cast<int>(rows.rows()), n = static_cast<int>(rows.cols());
  Matrix g = Matrix::Zero(hd, hd);
  cblas_dsyrk(CblasColMajor, CblasUpper, CblasTrans, hd, n, 1.0, rows.data(), n, 0.0, g.data(), hd);
  g.triangularView<Eigen::StrictlyLower>() = g.transpose();
  return g;
}

// OpenBLAS dsyrk/dgemm (AVX2 kernels whatever this binary was compiled for). A row-major
// [hd x n] matrix is, to column-major BLAS, its [n x hd] transpose with leading dim n.
HeadProducts products(const TensorPair& pair, const HeadBlock& b, std::int64_t hd) {
  const Rows base = decode_double(pair.base, b, hd), sft = decode_double(pair.sft, b, hd);
  HeadProducts p;
  p.row_diff2 = (sft - base).rowwise().squaredNorm();
  p.row_base2 = base.rowwise().squaredNorm();
  p.gram_base = gram(base);
  p.gram_sft = gram(sft);
  // cross = sft base^T: column-major C = (sft^T)^T (base^T) with sft^T, base^T the [n x hd] views.
  const int h = static_cast<int>(hd), n = static_cast<int>(base.cols());
  p.cross.resize(hd, hd);
  cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, h, h, n, 1.0, sft.data(), n, base.data(), n, 0.0, p.cross.data(), h);
  return p;
}

double relative(double diff2, double base2) { return base2 > 0 ? std::sqrt(std::max(0.0, diff2) / base2) : 0.0; }

double drift(const HeadProducts& p) { return relative(p.row_diff2.sum(), p.row_base2.sum()); }

// tr(A^T B) = sum_ij A_ij B_ij: an O(n^2) trace instead of an O(n^3) product.
double inner(const Matrix& a, const Matrix& b) { return a.cwiseProduct(b).sum(); }

// G^-1/2 on the range of G (pseudo-inverse square root: a rank-deficient head still has angles).
Matrix inverse_sqrt(const Matrix& g) {
  Eigen::SelfAdjointEigenSolver<Matrix> eig(g);
  const double floor = std::max(eig.eigenvalues().maxCoeff(), 0.0) * 1e-12;
  Eigen::VectorXd d = eig.eigenvalues().unaryExpr([&](double v) { return v > floor ? 1.0 / std::sqrt(v) : 0.0; });
  return eig.eigenvectors() * d.asDiagonal() * eig.eigenvectors().transpose();
}

// Cosines of the principal angles between the row spaces of B_b and B_s ([hd x n] each): the
// singular values of Q_b^T Q_s for orthonormal bases (Björck & Golub 1973), here through the Gram
// matrices: X = L_b^-1 (B_b B_s^T) L_s^-T with Cholesky factors G = L L^T (L^-1 B is orthonormal),
// and the singular values of X as square roots of the eigenvalues of X^T X (Eigen, double). A
// head whose Gram matrix is singular (head_dim > input dim) takes the pseudo-inverse square root
// G^-1/2 instead, with the SVD of G_b^-1/2 (B_b B_s^T) G_s^-1/2.
Eigen::VectorXd angle_cosines(const HeadProducts& p, Eigen::Index rank) {
  const Eigen::LLT<Matrix> lb(p.gram_base), ls(p.gram_sft);
  if (rank == p.gram_base.rows() && lb.info() == Eigen::Success && ls.info() == Eigen::Success) {
    // X = L_b^-1 (B_b B_s^T) L_s^-T: two triangular solves (dtrsm reads the lower triangles of
    // the LLT storage), then X^T X by dsyrk (upper triangle, which the eigensolver mirrors).
    const int n = static_cast<int>(p.gram_base.rows());
    Matrix x = p.cross.transpose();
    cblas_dtrsm(CblasColMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, n, n, 1.0, lb.matrixLLT().data(), n, x.data(), n);
    cblas_dtrsm(CblasColMajor, CblasRight, CblasLower, CblasTrans, CblasNonUnit, n, n, 1.0, ls.matrixLLT().data(), n, x.data(), n);
    Matrix xtx = Matrix::Zero(n, n);
    cblas_dsyrk(CblasColMajor, CblasUpper, CblasTrans, n, n, 1.0, x.data(), n, 0.0, xtx.data(), n);
    const Eigen::SelfAdjointEigenSolver<Matrix> eig(xtx.selfadjointView<Eigen::Upper>(), Eigen::EigenvaluesOnly);
    return eig.eigenvalues().cwiseMax(0.0).cwiseSqrt().reverse();
  }
  const Matrix m = inverse_sqrt(p.gram_base) * p.cross.transpose() * inverse_sqrt(p.gram_sft);
  return Eigen::JacobiSVD<Matrix>(m).singularValues();
}

void principal_angles(HeadProducts& p, Eigen::Index input_dim) {
  const Eigen::Index rank = std::min<Eigen::Index>(p.gram_base.rows(), input_dim);
  const Eigen::VectorXd s = angle_cosines(p, rank);  // descending
  double mean = 0, worst = 0;
  for (Eigen::Index i = 0; i < rank; ++i) {
    const double angle = std::acos(std::clamp(s[i], -1.0, 1.0)) * 180.0 / std::numbers::pi;
    mean += angle / rank;
    worst = std::max(worst, angle);
  }
  p.angle_mean = mean;
  p.angle_max = worst;
}

}  // namespace

LayerDrift global_layer_drift(std::span<const TensorPair> tensors, const SurgeryPlan& plan, double rope_theta) {
  LayerDrift result;
  result.kind = "global";
  const QkLayerLayout layout = locate_qk_heads(tensors, plan, "diagnose");
  result.layer = layout.layer;
  const std::int64_t hd = layout.head_dim, r = plan.require_rotary_dim("diagnose"), half = r / 2;

  // Every head (keys once per KV group) on its own, heads in parallel with single-threaded BLAS
  // (memory: one head's rows in double per core).
  const Eigen::Index input_dim = tensors[layout.q_weight.front().tensor].sft.info->shape.back();
  std::vector<HeadProducts> keys(layout.k_weight.size()), queries(layout.q_weight.size());
  parallel_for(keys.size() + queries.size(), [&](std::size_t i) {
    const bool key = i < keys.size();
    const HeadBlock& b = key ? layout.k_weight[i] : layout.q_weight[i - keys.size()];
    HeadProducts& p = key ? keys[i] : queries[i - keys.size()];
    p = products(tensors[b.tensor], b, hd);
    principal_angles(p, input_dim);
  });

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
    const double fb = inner(q.gram_base, k.gram_base), fs = inner(q.gram_sft, k.gram_sft);
    const double fsb = inner(q.cross, k.cross);
    d.form_drift = relative(fs + fb - 2 * fsb, fb);
    // ||O A - B||^2 = ||A||^2 + ||B||^2 - 2 tr(O^T B A^T), over the head's query rows and its key rows.
    const double moved = q.row_diff2.sum() + k.row_diff2.sum();
    const Matrix& o = rotations[g];
    const double residual = q.gram_sft.trace() + q.gram_base.trace() - 2 * inner(o, q.cross) + k.gram_sft.trace() + k.gram_base.trace() -
                            2 * inner(o, k.cross);
    d.rotation_share = moved > 0 ? 1.0 - std::max(0.0, residual) / moved : 1.0;
    d.q_angle_mean = q.angle_mean;
    d.q_angle_max = q.angle_max;
    d.k_angle_mean = k.angle_mean;
    d.k_angle_max = k.angle_max;
    result.heads.push_back(d);
  }

  // Bands: the rotary pairs in up to 8 groups of consecutive frequencies (pair j turns by
  // t * theta^(-2j/r): small j = short wavelength = local), then the non-rotary dims.
  auto band_drift = [&](const std::vector<std::int64_t>& dims) {
    double diff = 0, base = 0;
    for (const auto* heads : {&queries, &keys})
      for (const auto& p : *heads)
        for (std::int64_t i : dims) {
          diff += p.row_diff2[i];
          base += p.row_base2[i];
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
    // Fixed chunks of 1M elements, decoded and summed on all cores; the chunk sums are added in
    // order, so the result does not depend on the threads (memory: two chunks per core).
    constexpr std::int64_t kChunk = 1 << 20;
    const auto count = static_cast<std::int64_t>(b.info->element_count());
    const std::size_t bw = dtype_size(b.info->dtype), sw = dtype_size(s.info->dtype);
    std::vector<std::pair<double, double>> sums((count + kChunk - 1) / kChunk);  // (||dW||^2, ||W_base||^2)
    parallel_for(sums.size(), [&](std::int64_t chunk) {
      const std::int64_t first = chunk * kChunk, n = std::min(kChunk, count - first);
      std::vector<float> bv(n), sv(n);
      decode_to_f32(b.info->dtype, b.data().subspan(first * bw, n * bw), bv);
      decode_to_f32(s.info->dtype, s.data().subspan(first * sw, n * sw), sv);
      double diff[4] = {}, norm[4] = {};  // four independent chains
      for (std::int64_t i = 0; i < n; ++i) {
        diff[i & 3] += (double(sv[i]) - bv[i]) * (double(sv[i]) - bv[i]);
        norm[i & 3] += double(bv[i]) * bv[i];
      }
      sums[chunk] = {diff[0] + diff[1] + diff[2] + diff[3], norm[0] + norm[1] + norm[2] + norm[3]};
    });
    double diff = 0, norm = 0;
    for (const auto& [d, n] : sums) {
      diff += d;
      norm += n;
    }
    b.file->file().release(b.file->data_start() + b.info->begin, b.info->byte_size());
    s.file->file().release(s.file->data_start() + s.info->begin, s.info->byte_size());
    result.push_back({name, relative(diff, norm), std::sqrt(norm)});
  }
  return result;
}

}  // namespace qk::diagnose
