// Orthogonal Procrustes restricted to the rotations that commute with RoPE (QK-Pro, see
// docs/qkpro.md and shared/notes/method.md).
//
// For one KV group, with base rows A_i and SFT rows B_i ([head_dim x d] each: every query head of
// the group and its key head), O* = argmin_O sum_i ||O A_i - B_i||_F^2 = argmax_O tr(O^T M),
// M = sum_i B_i A_i^T. O must commute with every RoPE rotation R(t), so that
// (O W_Q)^T R(t) (O W_K) = W_Q^T R(t) W_K: with transformers' rotate_half pairing (dim j with
// j + r/2 inside the first r = rotary_dim dims) that makes O block diagonal: one SO(2) rotation
// per frequency pair, and a free orthogonal block on the head_dim - r non-rotary dims (all dims
// for NoPE, r = 0).
#pragma once
#include <cstdint>
#include <vector>

#include <Eigen/Core>

#include "surgery/tensor_rows.hpp"

namespace qk {

// The parts of M = sum B A^T that the constrained problem depends on.
class AlignmentCross {
 public:
  AlignmentCross(std::int64_t head_dim, std::int64_t rotary_dim);
  // Adds B A^T for one head: sft and base are [head_dim x n] (n = input dim, or 1 for a bias).
  void add(const RowMatrix& sft, const RowMatrix& base);
  // The same for a [head_dim x n] block inside larger row-major matrices whose rows are `stride`
  // floats apart (a head's columns of a KV group's side-by-side rows, procrustes_method.hpp).
  void add(const float* sft, const float* base, std::int64_t n, std::int64_t stride);
  void add(const AlignmentCross& other);

  std::int64_t head_dim() const { return head_dim_; }
  std::int64_t rotary_dim() const { return rotary_dim_; }
  // Per rotary pair j < rotary_dim/2: the 2x2 block of M on dims (j, j + rotary_dim/2).
  std::vector<double> m11, m12, m21, m22;
  Eigen::MatrixXd free;  // M restricted to the non-rotary dims [rotary_dim, head_dim)

 private:
  std::int64_t head_dim_, rotary_dim_;
};

// O = diag(SO(2) per rotary pair, orthogonal block on the other dims).
struct RopeCommutingRotation {
  std::int64_t head_dim = 0, rotary_dim = 0;
  std::vector<float> cos, sin;  // per rotary pair: [[cos, -sin], [sin, cos]] on dims (j, j + rotary_dim/2)
  RowMatrix free;               // [(head_dim - rotary_dim)^2], orthogonal

  RowMatrix dense() const;                    // the full [head_dim x head_dim] matrix
  RowMatrix apply(const RowMatrix& a) const;  // O a, for a [head_dim x n]
  double angle(std::int64_t pair) const;
};

// The maximiser of tr(O^T M) over RoPE-commuting orthogonal O: per pair the angle
// atan2(M21 - M12, M11 + M22) (tr(O^T M) = cos(M11 + M22) + sin(M21 - M12)); on the free block the
// polar factor U V^T of its SVD U S V^T (Eigen BDCSVD, double precision).
RopeCommutingRotation solve_rope_procrustes(const AlignmentCross& m);

}  // namespace qk
