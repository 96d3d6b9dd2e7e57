// The repair spec's one codec: CLI arguments and JSON both give back the same typed value; the
// label and the command keep the forms the sweep's tables and caches were written with; bad input is
// refused naming the option and the token; verify rebuilds every method from qkrestore.json.
#include <fstream>

#include <gtest/gtest.h>

#include "support/surgery_output.hpp"
#include "support/temp_dir.hpp"
#include "surgery/method.hpp"
#include "surgery/output.hpp"
#include "surgery/repair_spec.hpp"
#include "surgery/verify.hpp"
#include "util/error.hpp"
#include "util/json.hpp"

namespace qk {
namespace {

using Args = std::vector<std::string>;

RepairSpec parse(MethodKind kind, const Args& args) { return RepairSpec::parse_args(kind, args); }

// The repairs the tests go round with: every method, every option.
std::vector<RepairSpec> examples() {
  return {
      parse(MethodKind::Restore, {}),
      parse(MethodKind::Restore, {"--heads", "3:0-1,7:*,11:q5"}),
      parse(MethodKind::Restore, {"--layers", "0-3,8", "--with-qk-norm", "--include-sliding"}),
      parse(MethodKind::Restore, {"--tensors", "self_attn\\.(q|k)_proj", "--include-gate"}),
      parse(MethodKind::Blend, {"--alpha", "0.25", "--heads", "3:3"}),
      parse(MethodKind::Blend, {"--alpha", "0.1", "--layer-alphas", "3=1,11=0.25"}),
      parse(MethodKind::Procrustes, {"--granularity", "layer", "--alpha", "0.5"}),
      parse(MethodKind::Procrustes, {}),
      parse(MethodKind::Ridge, {"--lambda", "0.125", "--layers", "1"}),
  };
}

TEST(RepairSpec, ArgumentsRoundTrip) {
  for (const auto& spec : examples()) {
    SCOPED_TRACE(spec.label());
    EXPECT_EQ(RepairSpec::parse_args(spec.method.kind, spec.to_args()), spec);
  }
}

TEST(RepairSpec, JsonRoundTrip) {
  for (const auto& spec : examples()) {
    SCOPED_TRACE(spec.label());
    EXPECT_EQ(RepairSpec::from_json(spec.to_json(), "test"), spec);
    EXPECT_EQ(RepairSpec::from_json(nlohmann::json::parse(spec.to_json().dump()), "test"), spec);  // through text
  }
}

TEST(RepairSpec, TheOneFactoryBuildsTheMethodItDescribes) {
  for (const auto& spec : examples()) {
    SCOPED_TRACE(spec.label());
    EXPECT_EQ(spec.make_method()->spec(), spec.method);
    EXPECT_EQ(spec.make_method()->name(), method_name(spec.method.kind));
  }
}

// The forms `sweep` wrote before the spec was typed (its cache keys and sweep.md), kept.
TEST(RepairSpec, LabelAndCommandKeepTheirForms) {
  const RepairSpec blend = parse(MethodKind::Blend, {"--heads", "3:0", "--alpha", "0.25"});
  EXPECT_EQ(blend.label(), "blend a=0.25 heads=3:0");
  EXPECT_EQ(blend.command("B", "S", "O"), "qkrestore blend --base B --sft S --out O --alpha 0.25 --heads 3:0");
  EXPECT_EQ(parse(MethodKind::Restore, {}).label(), "restore");
  EXPECT_EQ(parse(MethodKind::Restore, {}).command("models/base", "models/cot", "OUT"),
            "qkrestore restore --base models/base --sft models/cot --out OUT");
  EXPECT_EQ(parse(MethodKind::Restore, {"--layers", "3"}).label(), "restore layers=3");
  EXPECT_EQ(parse(MethodKind::Procrustes, {}).label(), "procrustes a=1");
  EXPECT_EQ(parse(MethodKind::Procrustes, {}).command("B", "S", "O"), "qkrestore procrustes --base B --sft S --out O --alpha 1");
  EXPECT_EQ(parse(MethodKind::Restore, {"--heads", "7:1,3:3", "--with-qk-norm", "--include-gate", "--include-sliding"}).label(),
            "restore heads=3:3,7:1 +sliding +gate +qk-norm");
  EXPECT_EQ(parse(MethodKind::Blend, {"--alpha", "0.5", "--layer-alphas", "3=1"}).label(), "blend a=0.5 layer-alphas=3=1");
  EXPECT_EQ(parse(MethodKind::Ridge, {}).label(), "ridge lambda=1");
  // Shell words: a path with a space, a regex and a '*' are quoted; a plain word is not.
  EXPECT_EQ(parse(MethodKind::Restore, {"--heads", "7:*", "--tensors", "a|b"}).command("my base", "S", "O"),
            "qkrestore restore --base 'my base' --sft S --out O --heads '7:*' --tensors 'a|b'");
}

// qkrestore.json's fields as the versions before the typed spec wrote them: unchanged.
TEST(RepairSpec, JsonKeepsTheFieldsOfQkrestoreJson) {
  EXPECT_EQ(parse(MethodKind::Restore, {}).to_json(), nlohmann::json::parse(R"({"method": "restore", "method_options": {},
      "options": {"layers": null, "tensors": null, "include_sliding": false, "include_gate": false, "with_qk_norm": false,
                  "heads": null}})"));
  EXPECT_EQ(parse(MethodKind::Blend, {"--alpha", "0.5", "--layers", "3,1", "--heads", "3:q1,1:0"}).to_json(),
            nlohmann::json::parse(R"({"method": "blend", "method_options": {"alpha": 0.5, "layers": {}},
      "options": {"layers": [1, 3], "tensors": null, "include_sliding": false, "include_gate": false, "with_qk_norm": false,
                  "heads": "1:0,3:q1"}})"));
  EXPECT_EQ(parse(MethodKind::Procrustes, {"--alpha", "0.5"}).method_options_json(),
            nlohmann::json::parse(R"({"alpha": 0.5, "granularity": "group"})"));
  EXPECT_EQ(parse(MethodKind::Ridge, {"--lambda", "2"}).method_options_json(), nlohmann::json::parse(R"({"lambda": 2.0})"));
}

TEST(RepairSpec, OlderFilesReadWithTheirDefaults) {
  const RepairSpec restore = RepairSpec::from_json(nlohmann::json::parse(R"({"method": "restore"})"), "old.json");
  EXPECT_EQ(restore, parse(MethodKind::Restore, {}));
  const RepairSpec procrustes = RepairSpec::from_json(nlohmann::json::parse(R"({"method": "procrustes", "method_options": {}})"), "old.json");
  EXPECT_EQ(procrustes.method.alpha, 1.0);
  EXPECT_EQ(procrustes.method.granularity, "group");
}

void expect_usage_error(MethodKind kind, const Args& args, const std::vector<std::string>& needles) {
  try {
    parse(kind, args);
    ADD_FAILURE() << "accepted: " << fmt::format("{}", fmt::join(args, " "));
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Usage) << e.what();
    for (const auto& needle : needles) EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << needle << " in " << e.what();
  }
}

TEST(RepairSpec, BadArgumentsNameTheOptionAndTheToken) {
  expect_usage_error(MethodKind::Restore, {"--heads", "3:0,3:x"}, {"--heads", "'3:x'"});
  expect_usage_error(MethodKind::Restore, {"--layers", "0-2,x"}, {"--layers", "'x'"});
  expect_usage_error(MethodKind::Restore, {"--layers", "5-2"}, {"--layers", "'5-2'"});
  expect_usage_error(MethodKind::Blend, {"--alpha", "1.5"}, {"--alpha", "1.5", "[0, 1]"});
  expect_usage_error(MethodKind::Blend, {"--alpha", "half"}, {"--alpha", "'half'"});
  expect_usage_error(MethodKind::Blend, {"--layer-alphas", "3=1,7"}, {"--layer-alphas", "'7'", "LAYER=ALPHA"});
  expect_usage_error(MethodKind::Blend, {"--layer-alphas", "3=2"}, {"--layer-alphas", "alpha 2"});
  expect_usage_error(MethodKind::Procrustes, {"--granularity", "row"}, {"--granularity", "'row'"});
  expect_usage_error(MethodKind::Ridge, {"--lambda", "-1"}, {"--lambda", "-1"});
  expect_usage_error(MethodKind::Restore, {"--alpha", "0.5"}, {"restore does not take --alpha"});
  expect_usage_error(MethodKind::Restore, {"--bogus"}, {"'--bogus'"});
  expect_usage_error(MethodKind::Restore, {"--heads"}, {"--heads needs a value"});
  expect_usage_error(MethodKind::Restore, {"--layers", "1", "--layers", "2"}, {"--layers is given twice"});
}

void expect_format_error(const std::string& json, const std::vector<std::string>& needles) {
  try {
    RepairSpec::from_json(nlohmann::json::parse(json), "out/qkrestore.json");
    ADD_FAILURE() << "accepted: " << json;
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Format) << e.what();
    for (const auto& needle : needles) EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << needle << " in " << e.what();
  }
}

TEST(RepairSpec, BadJsonNamesTheFileAndTheField) {
  expect_format_error(R"({"method": "graft"})", {"out/qkrestore.json", "method", "'graft'"});
  expect_format_error(R"({"method": "blend", "method_options": {"alpha": 2}})", {"out/qkrestore.json", "method_options.alpha", "alpha 2"});
  expect_format_error(R"({"method": "blend", "method_options": {"lambda": 1}})", {"method_options", "unknown field 'lambda'"});
  expect_format_error(R"({"method": "restore", "options": {"future_option": 1}})", {"options", "unknown field 'future_option'"});
  expect_format_error(R"({"method": "restore", "options": {"heads": "3:x"}})", {"options.heads", "'3:x'"});
  expect_format_error(R"({"method": "restore", "options": {"layers": [1, -2]}})", {"options.layers"});
  expect_format_error(R"({"method": "procrustes", "method_options": {"granularity": "row"}})", {"method_options.granularity", "'row'"});
  expect_format_error(R"({"method": "restore", "options": []})", {"options must be an object"});
}

TEST(RepairSpec, AlphaFileIsReadIntoTheSpecAndPrintedBackInline) {
  test::TempDir tmp;
  std::ofstream(tmp / "alphas.json") << R"({"alpha": 0.0, "layers": {"3": 1.0}})";
  const RepairSpec spec = parse(MethodKind::Blend, {"--alpha", "0.75", "--alpha-file", (tmp / "alphas.json").string()});
  EXPECT_EQ(spec.method.alpha, 0.0);  // the file's alpha wins over --alpha
  EXPECT_EQ(spec.method.layer_alphas, (std::map<int, double>{{3, 1.0}}));
  EXPECT_EQ(spec.to_args(), (Args{"--alpha", "0", "--layer-alphas", "3=1"}));
  std::ofstream(tmp / "layers_only.json") << R"({"layers": {"1": 0.5}})";
  EXPECT_EQ(parse(MethodKind::Blend, {"--alpha", "0.75", "--alpha-file", (tmp / "layers_only.json").string()}).method.alpha, 0.75);
}

// Every method's output is re-checked by verify from what qkrestore.json recorded, and the spec read
// back from it is the one written.
TEST(RepairSpec, VerifyRebuildsEveryMethodFromQkrestoreJson) {
  const auto dir = test::checkpoints_dir() / "llama";  // global layers 0-3, 2 KV groups
  const Checkpoint base(dir / "base"), sft(dir / "sft");
  for (const auto& spec : {parse(MethodKind::Restore, {"--heads", "2:1"}), parse(MethodKind::Blend, {"--alpha", "0.3", "--layer-alphas", "1=0.9"}),
                           parse(MethodKind::Procrustes, {"--granularity", "layer", "--alpha", "0.5", "--layers", "1,2"}),
                           parse(MethodKind::Ridge, {"--lambda", "0.5"})}) {
    SCOPED_TRACE(spec.label());
    test::TempDir tmp;
    const SurgeryPlan plan = make_plan(base, sft, spec.selection, FamilyTable::builtin());
    spec.check_against(plan);
    OutputOptions output = test::quiet_output(tmp / "out");
    output.selection = spec.selection;
    write_output(base, sft, plan, *spec.make_method(), output);
    const auto provenance = read_json_file(tmp / "out" / "qkrestore.json");
    EXPECT_EQ(RepairSpec::from_json(provenance, "qkrestore.json"), spec);
    const VerifyReport report = verify_output(base, sft, tmp / "out", FamilyTable::builtin(), true);
    EXPECT_TRUE(report.problems.empty()) << report.problems.front();
    EXPECT_GT(report.method_tensors_checked, 0u);
  }
}

TEST(RepairSpec, APerLayerAlphaOutsideThePlanIsRefused) {
  const auto dir = test::checkpoints_dir() / "qwen3_next";  // global layers 1 and 3
  const Checkpoint base(dir / "base"), sft(dir / "sft");
  const RepairSpec spec = parse(MethodKind::Blend, {"--layer-alphas", "2=1"});
  const SurgeryPlan plan = make_plan(base, sft, spec.selection, FamilyTable::builtin());
  try {
    spec.check_against(plan);
    ADD_FAILURE() << "layer 2 accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("layer 2, which the plan does not change (selected layers: 1,3)"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace qk
