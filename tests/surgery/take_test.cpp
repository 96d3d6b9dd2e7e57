// --take: tensor classes by layer, with per-item blend weights. The grammar round-trips and names the
// bad part; the existing options map onto the same rows; outputs are exact (restore: base's bytes;
// a weight: blend's arithmetic and rounding) and re-checked by verify from qkrestore.json. --exclude
// leaves matching tensors of any selection as SFT's.
#include <cstring>

#include <gtest/gtest.h>

#include "io/dtype.hpp"
#include "support/surgery_output.hpp"
#include "support/temp_dir.hpp"
#include "surgery/blend_method.hpp"
#include "surgery/output.hpp"
#include "surgery/repair_spec.hpp"
#include "surgery/verify.hpp"
#include "util/error.hpp"
#include "util/files.hpp"
#include "util/json.hpp"

namespace qk {
namespace {

using Args = std::vector<std::string>;
const auto kMoe = test::checkpoints_dir() / "qwen3_next";  // 4 layers: linear 0, 2; global 1, 3; MoE feed-forward
const auto kDense = test::checkpoints_dir() / "llama";     // 4 global layers, dense MLP, untied lm_head

RepairSpec take_spec(MethodKind kind, const Args& args) { return RepairSpec::parse_args(kind, args); }

TEST(Take, GrammarRoundTrips) {
  for (const std::string text : {"mlp@0-3:0.25,attn.qk@3:3", "attn.qk@3:*:0.5", "attn.q@1:q2", "embed", "lm_head:0.5", "linear@*",
                                 "attn.k@0-1:0-1:1", "ffn@2", "norm@0:0"}) {
    SCOPED_TRACE(text);
    EXPECT_EQ(take_text(parse_take(text, "--take")), text);
  }
  EXPECT_EQ(take_text(parse_take("mlp@2-2:1.0", "--take")), "mlp@2:1");  // canonical
  const RepairSpec spec = take_spec(MethodKind::Restore, {"--take", "mlp@0-3:0.25,attn.qk@3:3"});
  EXPECT_EQ(RepairSpec::parse_args(MethodKind::Restore, spec.to_args()), spec);
  EXPECT_EQ(RepairSpec::from_json(spec.to_json(), "test"), spec);
  EXPECT_EQ(spec.label(), "restore take=mlp@0-3:0.25,attn.qk@3:3");
  EXPECT_EQ(spec.command("B", "S", "O"), "qkrestore restore --base B --sft S --out O --take mlp@0-3:0.25,attn.qk@3:3");
  EXPECT_EQ(spec.to_json()["options"]["take"], nlohmann::json::parse(R"(["mlp@0-3:0.25", "attn.qk@3:3"])"));
  EXPECT_FALSE(take_spec(MethodKind::Restore, {}).to_json()["options"].contains("take"));  // outputs without it keep their bytes
}

void expect_usage_error(const std::string& take, const std::vector<std::string>& needles) {
  try {
    parse_take(take, "--take");
    ADD_FAILURE() << "accepted " << take;
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Usage);
    for (const auto& needle : needles) EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << needle << " in " << e.what();
  }
}

TEST(Take, BadItemsAreRefusedNamingThePart) {
  expect_usage_error("mlp@0-3,mlpp@1", {"'mlpp@1'", "no tensor class ('mlpp')", "attn.qk"});
  expect_usage_error("mlp", {"'mlp'", "gives no layers", "mlp@0-3"});
  expect_usage_error("embed@0", {"'embed@0'", "outside the layer stack"});
  expect_usage_error("mlp@0-x", {"'0-x'"});
  expect_usage_error("mlp@3-1", {"'3-1'", "ends before it starts"});
  expect_usage_error("mlp@0:1.5", {"'mlp@0:1.5'", "weight 1.5"});
  expect_usage_error("mlp@0:half", {"'half'", "weight", "not cut per head"});
  expect_usage_error("attn.qk@3:0.5", {"'0.5'", "KV groups"});
  expect_usage_error("mlp@0:0.5:1", {"'1' left over"});
  expect_usage_error("mlp@0,,mlp@1", {"an item is empty"});
  EXPECT_THROW(take_spec(MethodKind::Procrustes, {"--take", "mlp@0"}), Error);  // restore and blend only
}

// The existing options and their class names select the same rows, and write the same bytes.
TEST(Take, HeadsAndLayersMapOntoTheSameRows) {
  const Checkpoint base(kMoe / "base"), sft(kMoe / "sft");
  auto rows_of = [&](const Args& args) {
    std::map<std::string, std::vector<std::pair<std::int64_t, std::int64_t>>> out;
    for (const auto& t : make_plan(base, sft, take_spec(MethodKind::Restore, args).selection, FamilyTable::builtin()).tensors) {
      auto& rows = out[t.name];  // the rows themselves: a whole tensor is its one full range
      if (t.whole()) rows.emplace_back(0, t.total_rows);
      for (const auto& r : t.rows) rows.emplace_back(r.begin, r.end);
    }
    return out;
  };
  EXPECT_EQ(rows_of({"--heads", "3:1"}), rows_of({"--take", "attn.qk@3:1"}));
  EXPECT_EQ(rows_of({"--heads", "1:q2"}), rows_of({"--take", "attn.q@1:q2"}));
  EXPECT_EQ(rows_of({}), rows_of({"--take", "attn.qk@*"}));
  EXPECT_EQ(rows_of({"--layers", "3", "--with-qk-norm"}), rows_of({"--take", "attn.qk@3,attn.qk_norm@3"}));
  EXPECT_EQ(rows_of({"--layers", "3", "--include-gate"}), rows_of({"--take", "attn.qk@3,attn.gate@3"}));
  // --heads and --take together: both.
  auto both = rows_of({"--heads", "3:1", "--take", "norm@0"});
  EXPECT_TRUE(both.count("model.layers.0.input_layernorm.weight"));
  EXPECT_TRUE(both.count("model.layers.3.self_attn.k_proj.weight"));
}

bool same_tensor_bytes(const TensorRef& a, const TensorRef& b) {
  return a.data().size() == b.data().size() && std::memcmp(a.data().data(), b.data().data(), a.data().size()) == 0;
}

std::filesystem::path write(const Checkpoint& base, const Checkpoint& sft, const RepairSpec& spec, const std::filesystem::path& out) {
  const SurgeryPlan plan = make_plan(base, sft, spec.selection, FamilyTable::builtin());
  spec.check_against(plan);
  OutputOptions o = test::quiet_output(out);
  o.selection = spec.selection;
  write_output(base, sft, plan, *spec.make_method(), o);
  return out;
}

// restore --take: base's bytes in the taken tensors, SFT's elsewhere; a weight: blend's bytes.
TEST(Take, RestoreIsExactAndAWeightIsBlendsArithmetic) {
  const Checkpoint base(kDense / "base"), sft(kDense / "sft");
  test::TempDir tmp;
  const Checkpoint taken(write(base, sft, take_spec(MethodKind::Restore, {"--take", "mlp@1-2,embed,norm@3"}), tmp / "taken"));
  for (const auto& name : sft.tensor_names()) {
    const bool from_base = name == "model.embed_tokens.weight" || name == "model.layers.3.input_layernorm.weight" ||
                           name == "model.layers.3.post_attention_layernorm.weight" ||
                           ((name.rfind("model.layers.1.mlp.", 0) == 0 || name.rfind("model.layers.2.mlp.", 0) == 0));
    EXPECT_TRUE(same_tensor_bytes(taken.at(name), from_base ? base.at(name) : sft.at(name))) << name;
  }
  // A weight of 0.25 under restore = blend --alpha 0.25 on the same class, byte for byte; and the
  // documented arithmetic: 0.25 * base + 0.75 * SFT in float, rounded to SFT's bf16 (to nearest even).
  const Checkpoint weighted(write(base, sft, take_spec(MethodKind::Restore, {"--take", "mlp@0:0.25"}), tmp / "weighted"));
  const Checkpoint blended(write(base, sft, take_spec(MethodKind::Blend, {"--alpha", "0.25", "--take", "mlp@0"}), tmp / "blended"));
  const std::string down = "model.layers.0.mlp.down_proj.weight";
  for (const auto& name : sft.tensor_names()) EXPECT_TRUE(same_tensor_bytes(weighted.at(name), blended.at(name))) << name;
  const auto b = test::decoded(base.at(down)), s = test::decoded(sft.at(down)), w = test::decoded(weighted.at(down));
  std::size_t differ = 0;
  for (std::size_t i = 0; i < w.size(); ++i) {
    float want = 0.25f * b[i] + 0.75f * s[i];
    std::vector<std::byte> bf16(2);
    convert_dtype(DType::F32, std::as_bytes(std::span<const float>(&want, 1)), DType::BF16, bf16);
    std::vector<float> back(1);
    decode_to_f32(DType::BF16, bf16, back);
    EXPECT_EQ(w[i], back[0]) << i;
    differ += w[i] != s[i];
  }
  EXPECT_GT(differ, 0u);
  // blend's alpha applies to items without a weight; an item's weight wins.
  const Checkpoint mixed(write(base, sft, take_spec(MethodKind::Blend, {"--alpha", "0.5", "--take", "mlp@0:0.25,norm@0"}), tmp / "mixed"));
  EXPECT_TRUE(same_tensor_bytes(mixed.at(down), weighted.at(down)));
}

TEST(Take, VerifyRecomputesTakenClassesAndCatchesAFlippedByte) {
  const Checkpoint base(kMoe / "base"), sft(kMoe / "sft");
  test::TempDir tmp;
  const RepairSpec spec = take_spec(MethodKind::Restore, {"--take", "attn.qk@3:1,ffn@0-1:0.25,linear@2:0.5,lm_head,final_norm"});
  write(base, sft, spec, tmp / "out");
  EXPECT_EQ(RepairSpec::from_json(read_json_file(tmp / "out" / "qkrestore.json"), "qkrestore.json"), spec);
  VerifyReport report = verify_output(base, sft, tmp / "out", FamilyTable::builtin(), true);
  EXPECT_TRUE(report.problems.empty()) << report.problems.front();
  const std::string name = "model.layers.1.mlp.experts.0.down_proj.weight";
  std::string bytes = test::read_bytes(tmp / "out" / "model.safetensors");
  {
    const Checkpoint out(tmp / "out");
    const TensorRef t = out.at(name);
    bytes[t.file->data_start() + t.info->begin + 3] ^= 1;
  }
  test::write_bytes(tmp / "out" / "model.safetensors", bytes);
  report = verify_output(base, sft, tmp / "out", FamilyTable::builtin(), true);
  ASSERT_FALSE(report.problems.empty());
  EXPECT_NE(report.problems.front().find(name), std::string::npos) << report.problems.front();
}

void expect_plan_error(const Args& args, const std::vector<std::string>& needles) {
  const Checkpoint base(kMoe / "base"), sft(kMoe / "sft");
  try {
    make_plan(base, sft, take_spec(MethodKind::Restore, args).selection, FamilyTable::builtin());
    ADD_FAILURE() << "planned " << fmt::format("{}", fmt::join(args, " "));
  } catch (const Error& e) {
    for (const auto& needle : needles) EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << needle << " in " << e.what();
  }
}

TEST(Take, WhatAModelCannotTakeIsRefusedNamingIt) {
  expect_plan_error({"--take", "mlp@0-1"}, {"--take 'mlp@0-1'", "no tensor of class mlp", "moe.experts"});  // MoE, not dense
  expect_plan_error({"--take", "linear@1"}, {"linear@1", "no tensor of class linear"});                   // a global layer
  expect_plan_error({"--take", "mlp@7"}, {"layer 7 is out of range", "0-3"});
  expect_plan_error({"--take", "attn.qk@3:5"}, {"KV group 5 is out of range"});
  expect_plan_error({"--heads", "3:1", "--take", "attn.qk@3:1:0.5"}, {"self_attn.k_proj.weight", "different weights", "0.5"});
  expect_plan_error({"--take", "ffn@0", "--with-qk-norm"}, {"--with-qk-norm", "attn.qk_norm"});
}

// --exclude: the option added in surgery/ alone (the spec's field, the codec's row, the plan's step).
TEST(Exclude, LeavesMatchingTensorsAsSftsAndRoundTrips) {
  const Checkpoint base(kDense / "base"), sft(kDense / "sft");
  const RepairSpec spec = take_spec(MethodKind::Restore, {"--take", "mlp@1-2", "--exclude", "down_proj"});
  EXPECT_EQ(RepairSpec::parse_args(MethodKind::Restore, spec.to_args()), spec);
  EXPECT_EQ(RepairSpec::from_json(spec.to_json(), "test"), spec);
  EXPECT_EQ(spec.label(), "restore exclude=down_proj take=mlp@1-2");
  EXPECT_EQ(spec.command("B", "S", "O"), "qkrestore restore --base B --sft S --out O --exclude down_proj --take mlp@1-2");
  std::set<std::string> planned;
  for (const auto& t : make_plan(base, sft, spec.selection, FamilyTable::builtin()).tensors) planned.insert(t.name);
  EXPECT_EQ(planned, (std::set<std::string>{"model.layers.1.mlp.gate_proj.weight", "model.layers.1.mlp.up_proj.weight",
                                            "model.layers.2.mlp.gate_proj.weight", "model.layers.2.mlp.up_proj.weight"}));
  test::TempDir tmp;
  const Checkpoint out(write(base, sft, spec, tmp / "out"));
  for (const auto& name : sft.tensor_names())
    EXPECT_TRUE(same_tensor_bytes(out.at(name), planned.count(name) ? base.at(name) : sft.at(name))) << name;
  EXPECT_EQ(RepairSpec::from_json(read_json_file(tmp / "out" / "qkrestore.json"), "qkrestore.json"), spec);
  const VerifyReport report = verify_output(base, sft, tmp / "out", FamilyTable::builtin(), true);
  EXPECT_TRUE(report.problems.empty()) << report.problems.front();
  // With the default selection (every global layer's W_Q/W_K): restore all but one layer's keys.
  std::set<std::string> restored;
  for (const auto& t : make_plan(base, sft, take_spec(MethodKind::Restore, {"--exclude", "layers\\.3\\.self_attn\\.k_proj"}).selection,
                                 FamilyTable::builtin()).tensors)
    restored.insert(t.name);
  EXPECT_FALSE(restored.count("model.layers.3.self_attn.k_proj.weight"));
  EXPECT_TRUE(restored.count("model.layers.3.self_attn.q_proj.weight"));
  EXPECT_TRUE(restored.count("model.layers.0.self_attn.k_proj.weight"));
}

TEST(Exclude, NothingLeftOrABadPatternIsRefused) {
  expect_plan_error({"--take", "ffn@0", "--exclude", "mlp"}, {"--exclude 'mlp'", "matches all", "nothing would come from base"});
  expect_plan_error({"--exclude", "k_proj("}, {"--exclude 'k_proj('", "not a valid regular expression"});
}

}  // namespace
}  // namespace qk
