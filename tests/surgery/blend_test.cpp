// blend on every reference pair: alpha = 1 is restore byte for byte, alpha = 0 is SFT byte for
// byte, alpha = 0.5 is the midpoint to one rounding, per-layer alphas apply to their layers only,
// and verify recomputes the output from qkrestore.json.
#include <cmath>
#include <fstream>

#include <gtest/gtest.h>

#include "io/dtype.hpp"
#include "support/manifest.hpp"
#include "support/surgery_output.hpp"
#include "surgery/blend_method.hpp"
#include "surgery/output.hpp"
#include "surgery/verify.hpp"
#include "util/error.hpp"

namespace qk {
namespace {

using test::decoded;
using test::quiet_output;

bool same_bytes(const TensorRef& a, const TensorRef& b) {
  return a.data().size() == b.data().size() && std::equal(a.data().begin(), a.data().end(), b.data().begin());
}

class BlendPairs : public ::testing::TestWithParam<test::Manifest> {};

TEST_P(BlendPairs, EndpointsAreRestoreAndSftAndMidpointIsTheMean) {
  const auto& m = GetParam();
  Checkpoint base(m.dir / "base"), sft(m.dir / "sft");
  const SurgeryPlan plan = make_plan(base, sft, {}, FamilyTable::builtin());
  test::TempDir tmp;
  write_output(base, sft, plan, RestoreMethod(), quiet_output(tmp / "restore"));
  write_output(base, sft, plan, BlendMethod(1.0), quiet_output(tmp / "one"));
  write_output(base, sft, plan, BlendMethod(0.0), quiet_output(tmp / "zero"));
  write_output(base, sft, plan, BlendMethod(0.5), quiet_output(tmp / "half"));
  Checkpoint restored(tmp / "restore"), one(tmp / "one"), zero(tmp / "zero"), half(tmp / "half");
  for (const auto& name : sft.tensor_names()) {
    EXPECT_TRUE(same_bytes(one.at(name), restored.at(name))) << m.name << " " << name << ": alpha 1 must be restore";
    EXPECT_TRUE(same_bytes(zero.at(name), sft.at(name))) << m.name << " " << name << ": alpha 0 must be SFT";
  }
  const double u = std::ldexp(1.0, -8);  // bf16 unit roundoff; f32 outputs are closer still
  for (const auto& t : plan.tensors) {
    const auto b = decoded(base.at(t.name)), s = decoded(sft.at(t.name)), h = decoded(half.at(t.name)), r = decoded(restored.at(t.name));
    for (std::size_t i = 0; i < h.size(); ++i) {
      if (r[i] == s[i] && b[i] != s[i]) continue;  // a row restore leaves to SFT (gate rows): blend leaves it too
      const double mean = 0.5 * b[i] + 0.5 * s[i];
      ASSERT_LE(std::abs(h[i] - mean), u * std::abs(mean) + 1e-30) << m.name << " " << t.name << " element " << i;
    }
  }
  for (const char* out : {"one", "half"})
    EXPECT_TRUE(verify_output(base, sft, tmp / out, FamilyTable::builtin(), true).problems.empty()) << out;
}

INSTANTIATE_TEST_SUITE_P(ReferenceCheckpoints, BlendPairs, ::testing::ValuesIn(test::all_manifests()), test::manifest_name);

TEST(Blend, PerLayerAlphasFromAFile) {
  auto dir = test::checkpoints_dir() / "qwen3_next";  // global layers 1 and 3
  Checkpoint base(dir / "base"), sft(dir / "sft");
  test::TempDir tmp;
  std::ofstream(tmp / "alphas.json") << R"({"alpha": 0.0, "layers": {"3": 1.0}})";
  const RepairSpec spec = RepairSpec::parse_args(MethodKind::Blend, std::vector<std::string>{"--alpha-file", (tmp / "alphas.json").string()});
  const auto made = spec.make_method();
  const auto& method = dynamic_cast<const BlendMethod&>(*made);
  EXPECT_EQ(method.alpha_for(1), 0.0);
  EXPECT_EQ(method.alpha_for(3), 1.0);
  const SurgeryPlan plan = make_plan(base, sft, {}, FamilyTable::builtin());
  write_output(base, sft, plan, method, quiet_output(tmp / "out"));
  write_output(base, sft, plan, RestoreMethod(), quiet_output(tmp / "restore"));
  Checkpoint out(tmp / "out"), restored(tmp / "restore");
  for (const auto& t : plan.tensors) {
    if (t.layer == 1) {
      EXPECT_TRUE(same_bytes(out.at(t.name), sft.at(t.name))) << t.name;
    }
    if (t.layer == 3) {
      EXPECT_TRUE(same_bytes(out.at(t.name), restored.at(t.name))) << t.name;
    }
  }
  EXPECT_TRUE(verify_output(base, sft, tmp / "out", FamilyTable::builtin(), true).problems.empty());
}

TEST(Blend, BadFilesAndAlphasAreRefusedWithTheirField) {
  test::TempDir tmp;
  auto expect_error = [&](const std::string& text, const std::string& needle) {
    std::ofstream(tmp / "f.json") << text;
    try {
      RepairSpec::parse_args(MethodKind::Blend, std::vector<std::string>{"--alpha-file", (tmp / "f.json").string()});
      ADD_FAILURE() << text << " was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_error(R"({"layers": {"x": 1}})", "'x'");
  expect_error(R"({"layers": {"2": "a"}})", "layers.2");
  expect_error(R"({"alpha": 2})", "alpha 2");
  expect_error(R"({"alphas": 1})", "unknown field 'alphas'");
  EXPECT_THROW(BlendMethod(-0.1), Error);
}

}  // namespace
}  // namespace qk
