// QK-Pro (procrustes) and its ridge reading, checked against what the note promises:
// base routing kept (bilinear forms W_Q,h^T R(t) W_K,g equal to base's, up to the proven rounding
// bound), never farther from SFT than plain restore, exact recovery of a RoPE-commuting rotation,
// and the alpha endpoints. Head rows are located from the transformers-made manifests, not from the
// code under test.
#include <cmath>
#include <cstring>
#include <fstream>
#include <random>

#include <gtest/gtest.h>

#include "io/dtype.hpp"
#include "support/manifest.hpp"
#include "support/surgery_output.hpp"
#include "surgery/output.hpp"
#include "surgery/procrustes_method.hpp"
#include "surgery/procrustes_norms.hpp"
#include "surgery/procrustes_solver.hpp"
#include "surgery/verify.hpp"
#include "util/error.hpp"

namespace qk {
namespace {

using test::decoded;
using test::quiet_output;

using Matrix = Eigen::MatrixXd;

// ---- ground truth from the manifest -------------------------------------------------------

struct HeadRef {
  std::string tensor;
  std::int64_t row = 0;
};
struct LayerHeads {
  std::int64_t heads = 0, kv_heads = 0, head_dim = 0;
  std::vector<HeadRef> q, k, q_bias, k_bias;
};

std::map<int, LayerHeads> manifest_heads(const test::Manifest& m) {
  std::map<int, LayerHeads> result;
  for (const auto& [key, ga] : m.json()["global_attention"].items()) {
    const int layer = std::stoi(key);
    LayerHeads heads;
    heads.heads = ga["num_heads"];
    heads.kv_heads = ga["num_kv_heads"];
    heads.head_dim = ga["head_dim"];
    const std::string layout = ga["layout"];
    std::map<std::string, std::string> by_role;
    for (const auto& t : m.json()["global_qk_tensors"][key]) by_role[t["role"]] = t["saved_name"];
    for (std::int64_t h = 0; h < heads.heads; ++h) {
      if (layout == "plain") heads.q.push_back({by_role.at("q_weight"), h * heads.head_dim});
      if (layout == "gated") heads.q.push_back({by_role.at("q_weight"), ga["query_rows"][h][0].get<std::int64_t>()});
      if (layout == "fused_qkv") heads.q.push_back({by_role.at("fused_qkv_weight"), ga["query_rows"][0].get<std::int64_t>() + h * heads.head_dim});
      if (by_role.count("q_bias")) heads.q_bias.push_back({by_role.at("q_bias"), h * heads.head_dim});
    }
    for (std::int64_t g = 0; g < heads.kv_heads; ++g) {
      if (layout == "fused_qkv") heads.k.push_back({by_role.at("fused_qkv_weight"), ga["key_rows"][0].get<std::int64_t>() + g * heads.head_dim});
      else heads.k.push_back({by_role.at("k_weight"), g * heads.head_dim});
      if (by_role.count("k_bias")) heads.k_bias.push_back({by_role.at("k_bias"), g * heads.head_dim});
    }
    result[layer] = heads;
  }
  return result;
}

Matrix read_rows(const Checkpoint& c, const HeadRef& ref, std::int64_t count) {
  TensorRef t = c.at(ref.tensor);
  const std::int64_t cols = t.info->shape.size() == 2 ? t.info->shape[1] : 1;
  std::vector<float> values(count * cols);
  const std::size_t w = dtype_size(t.info->dtype);
  decode_to_f32(t.info->dtype, t.data().subspan(ref.row * cols * w, count * cols * w), values);
  Matrix m(count, cols);
  for (std::int64_t i = 0; i < count; ++i)
    for (std::int64_t j = 0; j < cols; ++j) m(i, j) = values[i * cols + j];
  return m;
}

// [W | b]: the affine map a head applies (the bias is a column for input 1).
Matrix head_map(const Checkpoint& c, const std::vector<HeadRef>& w, const std::vector<HeadRef>& b, std::size_t i, std::int64_t hd) {
  Matrix m = read_rows(c, w[i], hd);
  if (b.empty()) return m;
  Matrix out(hd, m.cols() + 1);
  out << m, read_rows(c, b[i], hd);
  return out;
}

// RoPE R(t) with transformers' rotate_half pairing on the first `rotary` dims.
Matrix rope(std::int64_t hd, std::int64_t rotary, double t, double theta = 10000.0) {
  Matrix r = Matrix::Identity(hd, hd);
  const std::int64_t half = rotary / 2;
  for (std::int64_t j = 0; j < half; ++j) {
    const double a = t * std::pow(theta, -2.0 * j / rotary);
    r(j, j) = r(j + half, j + half) = std::cos(a);
    r(j, j + half) = -std::sin(a);
    r(j + half, j) = std::sin(a);
  }
  return r;
}

const std::vector<double> kOffsets = {0, 1, 2, 5, 17, 100, 1000, 4096, 32768, 131072};

bool procrustes_applies(const test::Manifest& m) {
  for (const auto& [key, ga] : m.json()["global_attention"].items())
    if (ga["layout"] == "mla" || m.json()["family"] == "zamba2") return false;
  return true;
}

std::vector<test::Manifest> procrustes_pairs() {
  std::vector<test::Manifest> result;
  for (const auto& m : test::all_manifests())
    if (procrustes_applies(m)) result.push_back(m);
  return result;
}

// ---- the solver alone --------------------------------------------------------------------

RowMatrix random_matrix(std::int64_t rows, std::int64_t cols, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  RowMatrix m(rows, cols);
  for (std::int64_t i = 0; i < m.size(); ++i) m.data()[i] = normal(rng);
  return m;
}

// A random RoPE-commuting rotation: random angles, random orthogonal free block (QR of a Gaussian).
RopeCommutingRotation random_rotation(std::int64_t hd, std::int64_t rotary, std::mt19937& rng) {
  AlignmentCross m(hd, rotary);
  m.add(random_matrix(hd, hd, rng), RowMatrix(RowMatrix::Identity(hd, hd)));
  return solve_rope_procrustes(m);
}

TEST(ProcrustesSolver, RotationIsOrthogonalCommutesWithRopeAndBeatsEveryOtherFeasibleRotation) {
  std::mt19937 rng(7);
  for (std::int64_t rotary : {0, 4, 16}) {
    const std::int64_t hd = 16;
    const RowMatrix a = random_matrix(hd, 40, rng), b = random_matrix(hd, 40, rng);
    AlignmentCross m(hd, rotary);
    m.add(b, a);
    const RopeCommutingRotation o = solve_rope_procrustes(m);
    const Matrix d = o.dense().cast<double>();
    EXPECT_LT((d.transpose() * d - Matrix::Identity(hd, hd)).norm(), 1e-5) << rotary;
    for (double t : kOffsets) EXPECT_LT((d * rope(hd, rotary, t) - rope(hd, rotary, t) * d).norm(), 1e-5) << rotary << " t=" << t;
    EXPECT_LT((o.apply(a) - o.dense() * a).norm(), 1e-4);
    const double best = (o.dense() * a - b).squaredNorm();
    for (int trial = 0; trial < 200; ++trial) {
      const RopeCommutingRotation other = random_rotation(hd, rotary, rng);
      EXPECT_LE(best, (other.dense() * a - b).squaredNorm() * (1 + 1e-6)) << "rotary " << rotary << " trial " << trial;
    }
  }
}

TEST(ProcrustesSolver, RotaryBlocksAreRotationsNotReflections) {
  std::mt19937 rng(11);
  const std::int64_t hd = 8, rotary = 8;
  // SFT = base with one rotary pair reflected: the best rotation cannot copy the reflection.
  const RowMatrix a = random_matrix(hd, 30, rng);
  RowMatrix b = a;
  b.row(0).swap(b.row(4));
  AlignmentCross m(hd, rotary);
  m.add(b, a);
  const Matrix d = solve_rope_procrustes(m).dense().cast<double>();
  for (int j = 0; j < 4; ++j) EXPECT_NEAR(d(j, j) * d(j + 4, j + 4) - d(j, j + 4) * d(j + 4, j), 1.0, 1e-6);
}

// ---- on the transformers reference pairs ------------------------------------------------

class ProcrustesPairs : public ::testing::TestWithParam<test::Manifest> {};

// bf16/f16 unit roundoff of the stored output, 0 for f32.
double unit_roundoff(DType d) { return d == DType::BF16 ? std::ldexp(1.0, -8) : d == DType::F16 ? std::ldexp(1.0, -11) : 0.0; }

TEST_P(ProcrustesPairs, KeepsBaseRoutingAndIsNeverFartherFromSftThanRestore) {
  const auto& m = GetParam();
  test::TempDir dir;
  Checkpoint base(m.dir / "base"), sft(m.dir / "sft");
  const SurgeryPlan plan = make_plan(base, sft, {}, FamilyTable::builtin());
  write_output(base, sft, plan, ProcrustesMethod(1.0, Granularity::Group), quiet_output(dir / "pro"));
  write_output(base, sft, plan, RestoreMethod(), quiet_output(dir / "restore"));
  Checkpoint out(dir / "pro"), restored(dir / "restore");
  const auto heads_by_layer = manifest_heads(m);
  ASSERT_FALSE(heads_by_layer.empty());
  for (const auto& [layer, lh] : heads_by_layer) {
    const std::int64_t hd = lh.head_dim, group = lh.heads / lh.kv_heads;
    const double u = unit_roundoff(sft.at(lh.q[0].tensor).info->dtype);
    double pro_distance = 0, restore_distance = 0, base_norm = 0;
    for (std::int64_t g = 0; g < lh.kv_heads; ++g) {
      const Matrix kb = head_map(base, lh.k, lh.k_bias, g, hd), ko = head_map(out, lh.k, lh.k_bias, g, hd);
      const Matrix ks = head_map(sft, lh.k, lh.k_bias, g, hd), kr = head_map(restored, lh.k, lh.k_bias, g, hd);
      pro_distance += (ko - ks).squaredNorm();
      restore_distance += (kr - ks).squaredNorm();
      base_norm += kb.squaredNorm();
      for (std::int64_t h = g * group; h < (g + 1) * group; ++h) {
        const Matrix qb = head_map(base, lh.q, lh.q_bias, h, hd), qo = head_map(out, lh.q, lh.q_bias, h, hd);
        const Matrix qs = head_map(sft, lh.q, lh.q_bias, h, hd), qr = head_map(restored, lh.q, lh.q_bias, h, hd);
        pro_distance += (qo - qs).squaredNorm();
        restore_distance += (qr - qs).squaredNorm();
        base_norm += qb.squaredNorm();
        for (double t : kOffsets) {
          const Matrix r = rope(hd, plan.rotary_dim, t);
          const Matrix want = qb.transpose() * r * kb, got = qo.transpose() * r * ko;
          // Stored output = exact * (1 + e), |e| <= u per element: |got - want| <= (2u + u^2) |Q|^T |R| |K| / (1 - u)^2,
          // plus the float32 arithmetic of the rotation (1e-5 relative to the same magnitude).
          const Matrix magnitude = qo.cwiseAbs().transpose() * r.cwiseAbs() * ko.cwiseAbs();
          const double slack = (2 * u + u * u) / ((1 - u) * (1 - u)) + 1e-5;
          for (Eigen::Index i = 0; i < want.rows(); ++i)
            for (Eigen::Index j = 0; j < want.cols(); ++j)
              ASSERT_LE(std::abs(got(i, j) - want(i, j)), slack * magnitude(i, j) + 1e-12)
                  << m.name << " layer " << layer << " head " << h << " t=" << t << " entry " << i << "," << j;
        }
      }
    }
    // Exactly, ||O A - B|| <= ||A - B|| (O = I is feasible); the stored rows add at most u * ||A||.
    EXPECT_LE(std::sqrt(pro_distance), std::sqrt(restore_distance) + 2 * u * std::sqrt(base_norm) + 1e-6) << m.name << " layer " << layer;
  }
  auto report = verify_output(base, sft, dir / "pro", FamilyTable::builtin(), true);
  EXPECT_TRUE(report.problems.empty()) << report.problems.front();
}

TEST_P(ProcrustesPairs, AlphaOneIsProcrustesAndAlphaZeroIsSft) {
  const auto& m = GetParam();
  Checkpoint base(m.dir / "base"), sft(m.dir / "sft");
  const SurgeryPlan plan = make_plan(base, sft, {}, FamilyTable::builtin());
  for (const auto& group : layer_groups(plan)) {
    std::vector<TensorPair> pairs;
    for (const auto* t : group) pairs.push_back({t, base.at(t->name), sft.at(t->name)});
    const auto aligned = ProcrustesMethod(1.0, Granularity::Group).compute_layer(pairs, plan);
    const auto with_alpha = ProcrustesMethod(1.0, Granularity::Group).compute_layer(pairs, plan);
    const auto at_zero = ProcrustesMethod(0.0, Granularity::Group).compute_layer(pairs, plan);
    for (std::size_t i = 0; i < pairs.size(); ++i) {
      EXPECT_EQ(aligned[i], with_alpha[i]) << pairs[i].plan->name;
      if (pairs[i].plan->role.find("norm") != std::string::npos) continue;  // norms come from base, as in restore
      auto s = pairs[i].sft.data();
      EXPECT_TRUE(std::equal(at_zero[i].begin(), at_zero[i].end(), s.begin(), s.end())) << pairs[i].plan->name;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(ReferenceCheckpoints, ProcrustesPairs, ::testing::ValuesIn(procrustes_pairs()), test::manifest_name);

TEST(Procrustes, RefusesMlaAndAdapterLayersNamingThem) {
  for (const char* name : {"kimi_linear", "zamba2"}) {
    auto dir = test::checkpoints_dir() / name;
    Checkpoint base(dir / "base"), sft(dir / "sft");
    test::TempDir tmp;
    const SurgeryPlan plan = make_plan(base, sft, {}, FamilyTable::builtin());
    try {
      write_output(base, sft, plan, ProcrustesMethod(1.0, Granularity::Group), quiet_output(tmp / "out"));
      FAIL() << name << " should be refused";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Unsupported) << e.what();
      EXPECT_NE(std::string(e.what()).find("MLA"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(std::filesystem::exists(tmp / "out"));
  }
}

TEST(Procrustes, RefusesSlidingLayers) {
  auto dir = test::checkpoints_dir() / "gemma3";
  Checkpoint base(dir / "base"), sft(dir / "sft");
  Selection options;
  options.include_sliding = true;
  const SurgeryPlan plan = make_plan(base, sft, options, FamilyTable::builtin());
  test::TempDir tmp;
  EXPECT_THROW(write_output(base, sft, plan, ProcrustesMethod(1.0, Granularity::Group), quiet_output(tmp / "out")), Error);
}

TEST(Procrustes, RefusesAConfigWithoutTheRotaryDimensionNamingTheField) {
  // A user's family table whose rotary dimension names a field this config lacks: restore still
  // plans (it copies rows), procrustes must refuse instead of treating the layers as NoPE.
  nlohmann::json table = nlohmann::json::parse(R"({"families": {"qwen3_next": {
      "layer_kinds": [{"list": "layer_types", "values": {"full_attention": "global", "linear_attention": "linear"}}],
      "position": {"kind": "rope", "rotary_dim": "rotary_dims_of_this_model"},
      "global_tensors": [
        {"side": "q", "part": "weight", "name": "self_attn.q_proj.weight", "gated": true,
         "rows": {"count": "heads", "block": "head_dim", "stride": "2 * head_dim"}},
        {"side": "k", "part": "weight", "name": "self_attn.k_proj.weight"}]}}})");
  FamilyTable families = FamilyTable::builtin();
  families.merge(FamilyTable::from_json(table, "test table"));
  auto dir = test::checkpoints_dir() / "qwen3_next";
  Checkpoint base(dir / "base"), sft(dir / "sft");
  const SurgeryPlan plan = make_plan(base, sft, {}, families);
  EXPECT_FALSE(plan.rotary_dim_unknown.empty());
  EXPECT_TRUE(plan.to_json()["rotary_dim"].is_null());
  test::TempDir tmp;
  try {
    write_output(base, sft, plan, ProcrustesMethod(1.0, Granularity::Group), quiet_output(tmp / "out"));
    FAIL() << "procrustes should refuse an unknown rotary dimension";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("rotary_dims_of_this_model"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(tmp / "out"));
}

// ---- synthetic: SFT = O * base exactly ----------------------------------------------------

// Writes a float32 checkpoint: SFT's config and every tensor of `source`, with `edit` applied.
void write_f32_checkpoint(const Checkpoint& source, const std::filesystem::path& dir,
                          const std::map<std::string, std::vector<float>>& replaced) {
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "config.json") << source.config().dump(2);
  std::vector<TensorInfo> infos;
  std::string data;
  for (const auto& name : source.tensor_names()) {
    TensorRef t = source.at(name);
    std::vector<float> values(t.info->element_count());
    if (auto it = replaced.find(name); it != replaced.end()) values = it->second;
    else decode_to_f32(t.info->dtype, t.data(), values);
    TensorInfo info{name, DType::F32, t.info->shape, data.size(), data.size() + values.size() * 4};
    data.append(reinterpret_cast<const char*>(values.data()), values.size() * 4);
    infos.push_back(info);
  }
  const std::string header = serialize_safetensors_header(infos, {{"format", "pt"}});
  std::ofstream out(dir / "model.safetensors", std::ios::binary);
  const std::uint64_t n = header.size();
  out.write(reinterpret_cast<const char*>(&n), 8);
  out << header << data;
}

class SyntheticRotation : public ::testing::TestWithParam<std::string> {};

TEST_P(SyntheticRotation, ProcrustesRecoversSftExactly) {
  for (Granularity granularity : {Granularity::Group, Granularity::Layer}) {
    const test::Manifest m = test::load_manifest(GetParam(), test::checkpoints_dir() / GetParam());
    test::TempDir tmp;
    Checkpoint reference(m.dir / "base");
    write_f32_checkpoint(reference, tmp / "base", {});
    Checkpoint base(tmp / "base");
    const SurgeryPlan plan = make_plan(base, base, {}, FamilyTable::builtin());
    std::mt19937 rng(3);
    std::map<std::string, std::vector<float>> edited;
    for (const auto& layer_heads : manifest_heads(m)) {
      const auto& lh = layer_heads.second;  // a plain reference: clang 14 cannot capture structured bindings
      std::vector<RopeCommutingRotation> rotations;
      for (std::int64_t g = 0; g < lh.kv_heads; ++g)
        rotations.push_back(g > 0 && granularity == Granularity::Layer ? rotations[0] : random_rotation(lh.head_dim, plan.rotary_dim, rng));
      auto rotate = [&](const HeadRef& ref, std::int64_t g) {
        auto& values = edited.try_emplace(ref.tensor, decoded(base.at(ref.tensor))).first->second;
        const TensorInfo& info = *base.at(ref.tensor).info;
        const std::int64_t cols = info.shape.size() == 2 ? info.shape[1] : 1;
        Eigen::Map<RowMatrix> rows(values.data() + ref.row * cols, lh.head_dim, cols);
        rows = (rotations[g].dense() * rows).eval();
      };
      for (std::int64_t h = 0; h < lh.heads; ++h) {
        rotate(lh.q[h], h / (lh.heads / lh.kv_heads));
        if (!lh.q_bias.empty()) rotate(lh.q_bias[h], h / (lh.heads / lh.kv_heads));
      }
      for (std::int64_t g = 0; g < lh.kv_heads; ++g) {
        rotate(lh.k[g], g);
        if (!lh.k_bias.empty()) rotate(lh.k_bias[g], g);
      }
    }
    write_f32_checkpoint(reference, tmp / "sft", edited);
    Checkpoint sft(tmp / "sft");
    write_output(base, sft, plan, ProcrustesMethod(1.0, granularity), quiet_output(tmp / "out"));
    Checkpoint out(tmp / "out");
    for (const auto& [name, want] : edited) {
      const auto got = decoded(out.at(name));
      double worst = 0;
      for (std::size_t i = 0; i < want.size(); ++i) worst = std::max(worst, std::abs(double(got[i]) - want[i]));
      EXPECT_LE(worst, 1e-5) << m.name << " " << name << " granularity " << granularity_name(granularity);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Families, SyntheticRotation,
                         ::testing::Values("llama", "qwen2", "qwen3_next", "phi3", "nemotron_h", "bamba", "gpt_oss"),
                         [](const auto& info) { return info.param; });

// ---- q/k norms -----------------------------------------------------------------------------

TEST(ProcrustesNorms, DeviationIsMeasuredForNormedLayersAndVanishesForUniformNorms) {
  auto dir = test::checkpoints_dir() / "qwen3_next";
  Checkpoint base(dir / "base"), sft(dir / "sft");
  const SurgeryPlan plan = make_plan(base, sft, {}, FamilyTable::builtin());
  ProcrustesMethod method(1.0, Granularity::Group);
  test::TempDir tmp;
  write_output(base, sft, plan, method, quiet_output(tmp / "out"));
  const auto deviations = qk_norm_deviation(base, sft, {}, FamilyTable::builtin(), method.alignments());
  ASSERT_EQ(deviations.size(), method.alignments().size());
  for (const auto& d : deviations) {
    EXPECT_TRUE(std::isfinite(d.max_relative));
    EXPECT_GT(d.max_relative, 1e-4) << "random SFT norm weights must show a deviation, layer " << d.layer;
  }
  // Uniform norm weights commute with every O: no deviation.
  std::map<std::string, std::vector<float>> uniform;
  for (const auto& name : sft.tensor_names())
    if (name.find("q_norm") != std::string::npos || name.find("k_norm") != std::string::npos)
      uniform[name] = std::vector<float>(sft.at(name).info->element_count(), 1.5f);
  write_f32_checkpoint(sft, tmp / "sft_uniform", uniform);
  Checkpoint sft_uniform(tmp / "sft_uniform");
  for (const auto& d : qk_norm_deviation(base, sft_uniform, {}, FamilyTable::builtin(), method.alignments()))
    EXPECT_LT(d.max_relative, 1e-6) << d.layer;
}

// ---- ridge ----------------------------------------------------------------------------------

TEST(Ridge, LambdaZeroMatchesBaseQueryKeyProductsAndLargeLambdaIsSft) {
  auto dir = test::checkpoints_dir() / "llama_fp32_base_bf16_sft";
  Checkpoint reference_base(dir / "base"), reference_sft(dir / "sft");
  test::TempDir tmp;
  write_f32_checkpoint(reference_base, tmp / "base", {});
  write_f32_checkpoint(reference_sft, tmp / "sft", {});
  Checkpoint base(tmp / "base"), sft(tmp / "sft");
  const SurgeryPlan plan = make_plan(base, sft, {}, FamilyTable::builtin());
  const test::Manifest m = test::load_manifest("llama", dir);
  write_output(base, sft, plan, RidgeMethod(0.0), quiet_output(tmp / "zero"));
  write_output(base, sft, plan, RidgeMethod(1e12), quiet_output(tmp / "huge"));
  Checkpoint zero(tmp / "zero"), huge(tmp / "huge");
  for (const auto& [layer, lh] : manifest_heads(m)) {
    const std::int64_t hd = lh.head_dim, group = lh.heads / lh.kv_heads;
    for (std::int64_t h = 0; h < lh.heads; ++h) {
      const Matrix k = read_rows(base, lh.k[h / group], hd);
      const Matrix qb = read_rows(base, lh.q[h], hd), qz = read_rows(zero, lh.q[h], hd), qs = read_rows(sft, lh.q[h], hd);
      EXPECT_LT((qz * k.transpose() - qb * k.transpose()).norm(), 1e-4 * (qb * k.transpose()).norm()) << "layer " << layer << " head " << h;
      EXPECT_LT((read_rows(huge, lh.q[h], hd) - qs).norm(), 1e-6 * qs.norm()) << "layer " << layer << " head " << h;
      // Not restore: SFT's part of W_Q outside W_K's row space survives (d > head_dim).
      EXPECT_GT((qz - qb).norm(), 1e-3 * qb.norm()) << "layer " << layer << " head " << h;
    }
    for (std::int64_t g = 0; g < lh.kv_heads; ++g) EXPECT_EQ(read_rows(zero, lh.k[g], hd), read_rows(base, lh.k[g], hd));
  }
  EXPECT_TRUE(verify_output(base, sft, tmp / "zero", FamilyTable::builtin(), true).problems.empty());
}

}  // namespace
}  // namespace qk
