#include "surgery/procrustes_method.hpp"

#include <Eigen/Cholesky>
#include <Eigen/QR>

#include "surgery/tensor_rows.hpp"
#include "util/error.hpp"

namespace qk {

RidgeMethod::RidgeMethod(double lambda) : lambda_(lambda) {
  if (!(lambda >= 0)) fail(ErrorKind::Usage, "--lambda {} must be >= 0 (0: closest to restore, large: closest to SFT)", lambda);
}

MethodSpec RidgeMethod::spec() const {
  MethodSpec m = MethodSpec::defaults(MethodKind::Ridge);
  m.lambda = lambda_;
  return m;
}

std::vector<std::vector<std::byte>> RidgeMethod::compute_layer(std::span<const TensorPair> tensors, const SurgeryPlan& plan) const {
  const QkLayerLayout layout = locate_qk_heads(tensors, plan, "ridge");
  const std::int64_t hd = layout.head_dim;
  auto outputs = copy_sft_bytes(tensors);
  // Everything but the query weight rows comes from base, as in restore: key rows, biases, norms.
  std::vector<bool> query_tensor(tensors.size(), false);
  for (const auto& b : layout.q_weight) query_tensor[b.tensor] = true;
  for (std::size_t i = 0; i < tensors.size(); ++i)
    if (!query_tensor[i]) copy_base_rows(tensors[i], outputs[i]);
  for (const auto& b : layout.k_weight) {  // the key rows of a fused QKV tensor
    if (!query_tensor[b.tensor]) continue;
    encode_rows(decode_rows(tensors[b.tensor].base, b.first_row, hd), *tensors[b.tensor].sft.info, outputs[b.tensor], b.first_row);
  }

  for (std::size_t g = 0; g < layout.kv_groups.size(); ++g) {
    const RowMatrix key = decode_rows(tensors[layout.k_weight[g].tensor].base, layout.k_weight[g].first_row, hd);  // K [hd x d]
    // Push-through identity: (K^T K + lambda I)^-1 K^T K = K^T (K K^T + lambda I)^-1 K, so only an
    // [hd x hd] system is solved instead of a [d x d] one. Complete orthogonal decomposition: a
    // pseudo-inverse when lambda = 0 and K is rank deficient.
    Eigen::MatrixXd gram = (key * key.transpose()).cast<double>();
    gram.diagonal().array() += lambda_;
    const Eigen::CompleteOrthogonalDecomposition<Eigen::MatrixXd> solver(gram);
    for (std::size_t h = 0; h < layout.query_heads.size(); ++h) {
      if (layout.group_slot_of(h) != static_cast<std::int64_t>(g)) continue;
      const HeadBlock& where = layout.q_weight[h];
      const RowMatrix base = decode_rows(tensors[where.tensor].base, where.first_row, hd);
      const RowMatrix sft = decode_rows(tensors[where.tensor].sft, where.first_row, hd);
      const RowMatrix delta = base - sft;
      const Eigen::MatrixXd s = (delta * key.transpose()).cast<double>();         // (W_base - W_sft) K^T   [hd x hd]
      const RowMatrix x = solver.solve(s.transpose()).transpose().cast<float>();  // S (K K^T + lambda I)^-1 (symmetric system)
      const RowMatrix out = sft + x * key;                                         // W_sft + S (K K^T + lambda I)^-1 K
      encode_rows(out, *tensors[where.tensor].sft.info, outputs[where.tensor], where.first_row);
    }
  }
  return outputs;
}

}  // namespace qk
