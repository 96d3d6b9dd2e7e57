// `qkrestore restore / plan / verify` as a user runs them: exit statuses, messages that name the
// file, tensor or field, no partial OUT, and inputs left byte-identical.
#include <map>

#include <gtest/gtest.h>

#include "io/checkpoint.hpp"
#include "support/run_binary.hpp"
#include "support/temp_dir.hpp"
#include "surgery/repair_spec.hpp"
#include "util/json.hpp"

namespace qk {
namespace {

namespace fs = std::filesystem;
using test::run_qkrestore;
using test::shell_quote;

std::map<std::string, std::string> snapshot(const fs::path& dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) files[fs::relative(e.path(), dir).string()] = test::read_bytes(e.path());
  return files;
}

class RestoreCli : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::copy(test::checkpoints_dir() / "qwen3_next_sharded" / "base", tmp_ / "base", fs::copy_options::recursive);
    fs::copy(test::checkpoints_dir() / "qwen3_next_sharded" / "sft", tmp_ / "sft", fs::copy_options::recursive);
    base_before_ = snapshot(tmp_ / "base");
    sft_before_ = snapshot(tmp_ / "sft");
  }
  void TearDown() override {
    EXPECT_EQ(snapshot(tmp_ / "base"), base_before_) << "BASE was modified";
    EXPECT_EQ(snapshot(tmp_ / "sft"), sft_before_) << "SFT was modified";
  }
  std::string pair() const { return "--base " + shell_quote((tmp_ / "base").string()) + " --sft " + shell_quote((tmp_ / "sft").string()); }
  std::string out(const std::string& name = "out") const { return shell_quote((tmp_ / name).string()); }
  // After a failure: no OUT and no temporary directory beside it.
  void expect_nothing_written(const std::string& name = "out") {
    EXPECT_FALSE(fs::exists(tmp_ / name));
    for (const auto& e : fs::directory_iterator(tmp_.path()))
      EXPECT_EQ(e.path().filename().string().find(".qkrestore-tmp"), std::string::npos) << e.path();
  }
  // Rewrites one input (after the snapshot, so TearDown compares against the damaged version).
  void damage(const fs::path& relative, const std::string& bytes) {
    test::write_bytes(tmp_ / relative, bytes);
    base_before_ = snapshot(tmp_ / "base");
    sft_before_ = snapshot(tmp_ / "sft");
  }
  fs::path first_shard(const std::string& which) const {
    auto index = read_json_file(tmp_ / which / "model.safetensors.index.json");
    return fs::path(which) / index["weight_map"].begin().value().get<std::string>();
  }
  test::TempDir tmp_;
  std::map<std::string, std::string> base_before_, sft_before_;
};

TEST_F(RestoreCli, RestoreThenVerifySucceeds) {
  auto r = run_qkrestore("restore " + pair() + " --out " + out());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("restored 4 tensors in 2 global layers"), std::string::npos) << r.output;
  EXPECT_TRUE(fs::exists(tmp_ / "out" / "qkrestore.json"));
  auto v = run_qkrestore("verify " + pair() + " --out " + out());
  EXPECT_EQ(v.status, 0) << v.output;
  EXPECT_NE(v.output.find("OK:"), std::string::npos);
  auto provenance = read_json_file(tmp_ / "out" / "qkrestore.json");
  EXPECT_EQ(provenance["method"], "restore");
  EXPECT_EQ(provenance["tensors"]["model.layers.1.self_attn.k_proj.weight"]["source"], "base");
  EXPECT_EQ(provenance["tensors"]["model.layers.1.self_attn.v_proj.weight"]["source"], "sft");
  EXPECT_EQ(provenance["tensors"]["model.layers.1.self_attn.k_proj.weight"]["sha256"].get<std::string>().size(), 64u);
}

TEST_F(RestoreCli, HeadsPlanRestoreVerifyAndBadSpec) {
  auto p = run_qkrestore("plan " + pair() + " --heads 3:1 --json");
  ASSERT_EQ(p.status, 0) << p.output;
  const auto plan = nlohmann::json::parse(p.output);
  EXPECT_EQ(plan["selected_layers"], nlohmann::json::array({3}));
  EXPECT_EQ(plan["layers"][3]["heads"]["kv_groups"], nlohmann::json::array({1}));
  EXPECT_EQ(plan["layers"][3]["heads"]["query_heads"], nlohmann::json::array({2, 3}));
  for (const auto& t : plan["layers"][3]["from_base"]) {
    if (t["name"] == "model.layers.3.self_attn.k_proj.weight") {
      EXPECT_EQ(t["rows"], nlohmann::json::parse("[[16, 32]]"));
    }
  }
  EXPECT_FALSE(plan["layers"][1].contains("heads"));
  auto r = run_qkrestore("blend " + pair() + " --alpha 0.5 --heads 3:1,1:q0 -q --out " + out());
  ASSERT_EQ(r.status, 0) << r.output;
  auto v = run_qkrestore("verify " + pair() + " --out " + out());
  EXPECT_EQ(v.status, 0) << v.output;
  auto bad = run_qkrestore("restore " + pair() + " --heads 3:1,7 --out " + out("bad"));
  EXPECT_EQ(bad.status, 2) << bad.output;
  EXPECT_NE(bad.output.find("token '7'"), std::string::npos) << bad.output;
  expect_nothing_written("bad");
  auto single = run_qkrestore("procrustes " + pair() + " --heads 3:q1 --out " + out("pro"));
  EXPECT_NE(single.status, 0);
  EXPECT_NE(single.output.find("without their KV group"), std::string::npos) << single.output;
  expect_nothing_written("pro");
}

TEST_F(RestoreCli, VerifyExitsNonZeroNamingTheTensor) {
  ASSERT_EQ(run_qkrestore("restore -q " + pair() + " --out " + out()).status, 0);
  Checkpoint produced(tmp_ / "out");
  auto ref = produced.at("model.layers.2.linear_attn.A_log");
  fs::path file = ref.file->path();
  std::uint64_t offset = ref.file->data_start() + ref.info->begin;
  std::string bytes = test::read_bytes(file);
  bytes[offset] ^= 0x40;
  test::write_bytes(file, bytes);
  auto v = run_qkrestore("verify -q " + pair() + " --out " + out());
  EXPECT_EQ(v.status, 3) << v.output;
  EXPECT_NE(v.output.find("model.layers.2.linear_attn.A_log"), std::string::npos) << v.output;
}

TEST_F(RestoreCli, ExistingOutNeedsForce) {
  fs::create_directories(tmp_ / "out");
  test::write_bytes(tmp_ / "out" / "keep.txt", "mine");
  auto r = run_qkrestore("restore -q " + pair() + " --out " + out());
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("already exists; pass --force"), std::string::npos) << r.output;
  EXPECT_EQ(test::read_bytes(tmp_ / "out" / "keep.txt"), "mine");
  auto forced = run_qkrestore("restore -q --force " + pair() + " --out " + out());
  EXPECT_EQ(forced.status, 0) << forced.output;
  EXPECT_FALSE(fs::exists(tmp_ / "out" / "keep.txt"));
}

TEST_F(RestoreCli, OutInsideAnInputIsRefused) {
  auto r = run_qkrestore("restore -q " + pair() + " --out " + shell_quote((tmp_ / "sft" / "restored").string()));
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("lies inside SFT"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(tmp_ / "sft" / "restored"));
  auto around = run_qkrestore("restore -q --force " + pair() + " --out " + shell_quote(tmp_.path().string()));
  EXPECT_EQ(around.status, 2) << around.output;
  EXPECT_NE(around.output.find("lies inside OUT"), std::string::npos) << around.output;
}

struct Damage {
  const char* label;
  std::function<void(RestoreCli&)> apply;
  const char* expected;
};

TEST_F(RestoreCli, TruncatedShardIsNamedAndNothingIsWritten) {
  fs::path shard = first_shard("sft");
  std::string bytes = test::read_bytes(tmp_ / shard);
  damage(shard, bytes.substr(0, bytes.size() - 10));
  auto r = run_qkrestore("restore -q " + pair() + " --out " + out());
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find(shard.filename().string()), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("truncated"), std::string::npos) << r.output;
  expect_nothing_written();
}

TEST_F(RestoreCli, HeaderLongerThanTheFile) {
  fs::path shard = first_shard("base");
  std::string bytes = test::read_bytes(tmp_ / shard);
  bytes[0] = '\xff';
  bytes[1] = '\xff';
  bytes[2] = '\x0f';
  damage(shard, bytes);
  auto r = run_qkrestore("restore -q " + pair() + " --out " + out());
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("runs past the end"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(shard.filename().string()), std::string::npos) << r.output;
  expect_nothing_written();
}

// Rewrites the JSON header of a shard through `edit`, keeping the data section.
void edit_header(const fs::path& path, const std::function<void(nlohmann::json&)>& edit) {
  std::string bytes = test::read_bytes(path);
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = n << 8 | static_cast<unsigned char>(bytes[i]);
  auto header = nlohmann::json::parse(bytes.substr(8, n));
  edit(header);
  std::string text = header.dump();
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((text.size() >> (8 * i)) & 0xff);
  test::write_bytes(path, out + text + bytes.substr(8 + n));
}

TEST_F(RestoreCli, LyingHeadersAreNamed) {
  struct Case {
    const char* label;
    std::function<void(nlohmann::json&)> edit;
    const char* expected;
  };
  const std::vector<Case> cases = {
      {"offset out of range", [](nlohmann::json& h) {
         nlohmann::json* last = nullptr;
         for (auto& [k, v] : h.items())
           if (k != "__metadata__" && (!last || v["data_offsets"][1] > (*last)["data_offsets"][1])) last = &v;
         (*last)["data_offsets"][0] = (*last)["data_offsets"][0].get<int>() + 1000000;
         (*last)["data_offsets"][1] = (*last)["data_offsets"][1].get<int>() + 1000000;
       }, "offsets out of range"},
      {"overlap", [](nlohmann::json& h) { for (auto& [k, v] : h.items()) if (k != "__metadata__" && v["data_offsets"][0].get<int>() > 0) { v["data_offsets"][0] = v["data_offsets"][0].get<int>() - 2; v["data_offsets"][1] = v["data_offsets"][1].get<int>() - 2; break; } }, "starts at data offset"},
      {"unknown dtype", [](nlohmann::json& h) { for (auto& [k, v] : h.items()) if (k != "__metadata__") { v["dtype"] = "F7"; break; } }, "unknown dtype 'F7'"},
      {"shape and size disagree", [](nlohmann::json& h) { for (auto& [k, v] : h.items()) if (k != "__metadata__") { v["shape"][0] = v["shape"][0].get<int>() + 1; break; } }, "needs"},
  };
  fs::path shard = first_shard("sft");
  const std::string original = test::read_bytes(tmp_ / shard);
  for (const auto& c : cases) {
    test::write_bytes(tmp_ / shard, original);
    edit_header(tmp_ / shard, c.edit);
    damage(shard, test::read_bytes(tmp_ / shard));
    auto r = run_qkrestore("restore -q " + pair() + " --out " + out());
    EXPECT_EQ(r.status, 1) << c.label << ": " << r.output;
    EXPECT_NE(r.output.find(c.expected), std::string::npos) << c.label << ": " << r.output;
    EXPECT_NE(r.output.find(shard.filename().string()), std::string::npos) << c.label << ": " << r.output;
    expect_nothing_written();
  }
  damage(shard, original);
}

TEST_F(RestoreCli, MissingTensorIsNamed) {
  // Drop a restored tensor from the base checkpoint (header and index), keeping the file valid.
  const std::string victim = "model.layers.3.self_attn.k_proj.weight";
  auto index = read_json_file(tmp_ / "base" / "model.safetensors.index.json");
  fs::path shard = fs::path("base") / index["weight_map"][victim].get<std::string>();
  // Rename instead of removing so the data section stays exactly covered.
  edit_header(tmp_ / shard, [&](nlohmann::json& h) { h["renamed.tensor"] = h[victim]; h.erase(victim); });
  index["weight_map"]["renamed.tensor"] = index["weight_map"][victim];
  index["weight_map"].erase(victim);
  test::write_bytes(tmp_ / "base" / "model.safetensors.index.json", index.dump());
  damage(shard, test::read_bytes(tmp_ / shard));
  auto r = run_qkrestore("restore -q " + pair() + " --out " + out());
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("has no tensor '" + victim + "'"), std::string::npos) << r.output;
  expect_nothing_written();
}

TEST_F(RestoreCli, MismatchedConfigsNameTheField) {
  auto config = read_json_file(tmp_ / "base" / "config.json");
  config["num_key_value_heads"] = 4;
  damage("base/config.json", config.dump(2));
  auto r = run_qkrestore("restore -q " + pair() + " --out " + out());
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("base and SFT differ in kv_heads"), std::string::npos) << r.output;

  config = read_json_file(tmp_ / "sft" / "config.json");
  config["layer_types"][1] = "linear_attention";
  damage("sft/config.json", config.dump(2));
  r = run_qkrestore("plan " + pair());
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("the type of layer 1"), std::string::npos) << r.output;
}

TEST_F(RestoreCli, NonJsonConfigAndUnknownModelType) {
  damage("sft/config.json", "{\"model_type\": ");
  auto r = run_qkrestore("restore -q " + pair() + " --out " + out());
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("config.json is not valid JSON"), std::string::npos) << r.output;
  expect_nothing_written();

  auto config = read_json_file(tmp_ / "base" / "config.json");
  config["model_type"] = "mystery";
  damage("sft/config.json", config.dump());
  damage("base/config.json", config.dump());
  r = run_qkrestore("plan " + pair());
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("model_type 'mystery' is not in the architecture table"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("--arch-file"), std::string::npos) << r.output;
}

TEST_F(RestoreCli, PlanJsonListsRowRanges) {
  auto r = run_qkrestore("plan --json " + pair());
  ASSERT_EQ(r.status, 0) << r.output;
  auto plan = nlohmann::json::parse(r.output);
  EXPECT_EQ(plan["selected_layers"], nlohmann::json({1, 3}));
  auto q = plan["layers"][1]["from_base"];
  bool found = false;
  for (const auto& t : q)
    if (t["name"] == "model.layers.1.self_attn.q_proj.weight") {
      found = true;
      EXPECT_EQ(t["rows"][0], nlohmann::json({0, 16}));
      EXPECT_EQ(t["selected_rows"], 64);
    }
  EXPECT_TRUE(found) << r.output;
}

TEST_F(RestoreCli, TensorsRegexGivesTheVOnlyAblation) {
  auto r = run_qkrestore("plan --json --tensors 'v_proj' " + pair());
  ASSERT_EQ(r.status, 0) << r.output;
  auto plan = nlohmann::json::parse(r.output);
  std::vector<std::string> names;
  for (const auto& layer : plan["layers"])
    for (const auto& t : layer["from_base"]) names.push_back(t["name"]);
  EXPECT_EQ(names, (std::vector<std::string>{"model.layers.1.self_attn.v_proj.weight", "model.layers.3.self_attn.v_proj.weight"}));
}

// The command a repair prints (RepairSpec::command, as sweep prints its pick) reruns to the same
// output: an --alpha-file is printed back inline as --layer-alphas, and qkrestore.json records the
// same spec either way.
TEST_F(RestoreCli, TheRecordedRepairPrintsACommandThatRerunsIt) {
  test::write_bytes(tmp_ / "alphas.json", R"({"alpha": 0.25, "layers": {"3": 0.75}})");
  auto r = run_qkrestore("blend -q " + pair() + " --alpha-file " + shell_quote((tmp_ / "alphas.json").string()) +
                         " --heads 3:1,1:0 --out " + out());
  ASSERT_EQ(r.status, 0) << r.output;
  const RepairSpec spec = RepairSpec::from_json(read_json_file(tmp_ / "out" / "qkrestore.json"), "qkrestore.json");
  const std::string command = spec.command((tmp_ / "base").string(), (tmp_ / "sft").string(), (tmp_ / "again").string());
  EXPECT_NE(command.find("--layer-alphas 3=0.75"), std::string::npos) << command;
  const std::string prefix = "qkrestore ";
  ASSERT_EQ(command.rfind(prefix, 0), 0u);
  auto again = run_qkrestore(command.substr(prefix.size()) + " -q");
  ASSERT_EQ(again.status, 0) << command << "\n" << again.output;
  EXPECT_EQ(RepairSpec::from_json(read_json_file(tmp_ / "again" / "qkrestore.json"), "qkrestore.json"), spec);
  for (const auto& e : fs::directory_iterator(tmp_ / "out")) {
    if (e.path().extension() == ".safetensors") {
      EXPECT_EQ(test::read_bytes(e.path()), test::read_bytes(tmp_ / "again" / e.path().filename())) << e.path();
    }
  }
  auto blend_needs_alpha = run_qkrestore("blend " + pair() + " --out " + out("none"));
  EXPECT_EQ(blend_needs_alpha.status, 2) << blend_needs_alpha.output;
  EXPECT_NE(blend_needs_alpha.output.find("--alpha"), std::string::npos) << blend_needs_alpha.output;
  expect_nothing_written("none");
}

// --take as a user runs it: plan shows the classes and weights, restore writes, verify re-checks; a bad
// item is a usage error naming it, with nothing written.
TEST_F(RestoreCli, TakeClassesPlanRestoreVerify) {
  auto p = run_qkrestore("plan " + pair() + " --take ffn@0-1:0.25,attn.qk@3:1");
  ASSERT_EQ(p.status, 0) << p.output;
  EXPECT_NE(p.output.find("model.layers.0.mlp.experts.0.down_proj.weight"), std::string::npos) << p.output;
  EXPECT_NE(p.output.find("weight 0.25"), std::string::npos) << p.output;
  auto r = run_qkrestore("restore -q " + pair() + " --take ffn@0-1:0.25,attn.qk@3:1 --out " + out());
  ASSERT_EQ(r.status, 0) << r.output;
  auto v = run_qkrestore("verify " + pair() + " --out " + out());
  EXPECT_EQ(v.status, 0) << v.output;
  EXPECT_EQ(read_json_file(tmp_ / "out" / "qkrestore.json")["options"]["take"], nlohmann::json::parse(R"(["ffn@0-1:0.25", "attn.qk@3:1"])"));
  auto bad = run_qkrestore("restore " + pair() + " --take ffn@0-1,mlpp@2 --out " + out("bad"));
  EXPECT_EQ(bad.status, 2) << bad.output;
  EXPECT_NE(bad.output.find("item 'mlpp@2'"), std::string::npos) << bad.output;
  expect_nothing_written("bad");
}

// Issue 17: inputs that used to escape as "internal error" (std::stoi, nlohmann type errors) are
// exit 1 with a message naming the file and the field.
void expect_format_error(const test::RunResult& r, const std::vector<std::string>& needles) {
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_EQ(r.output.find("internal error"), std::string::npos) << r.output;
  for (const auto& needle : needles) EXPECT_NE(r.output.find(needle), std::string::npos) << needle << " in " << r.output;
}

TEST_F(RestoreCli, HugeLayerIndexInATensorNameNamesTheShard) {
  const std::string name = "model.layers.99999999999.extra.weight";
  std::string header = R"({")" + name + R"(": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})";
  header.append((8 - header.size() % 8) % 8, ' ');
  std::string shard(8, '\0');
  for (int i = 0; i < 8; ++i) shard[i] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
  shard += header + std::string(4, '\0');
  auto index = read_json_file(tmp_ / "sft" / "model.safetensors.index.json");
  index["weight_map"][name] = "extra.safetensors";
  test::write_bytes(tmp_ / "sft" / "extra.safetensors", shard);
  damage("sft/model.safetensors.index.json", index.dump(2));
  expect_format_error(run_qkrestore("restore -q --tensors extra " + pair() + " --out " + out()),
                      {"extra.safetensors", name, "99999999999"});
  expect_nothing_written();
}

TEST_F(RestoreCli, VerifyNamesAMalformedBlendOptionInQkrestoreJson) {
  ASSERT_EQ(run_qkrestore("blend -q --alpha 0.5 " + pair() + " --out " + out()).status, 0);
  const fs::path provenance = tmp_ / "out" / "qkrestore.json";
  auto j = read_json_file(provenance);
  for (const char* layers : {R"({"x": 1})", R"({"3": "half"})", R"({"99999999999": 1})"}) {
    j["method_options"]["layers"] = nlohmann::json::parse(layers);
    test::write_bytes(provenance, j.dump(2));
    expect_format_error(run_qkrestore("verify -q " + pair() + " --out " + out()), {provenance.string(), "method_options", "layers"});
  }
  j["method_options"]["layers"] = nlohmann::json::object();
  j["options"]["include_gate"] = "yes";
  test::write_bytes(provenance, j.dump(2));
  expect_format_error(run_qkrestore("verify -q " + pair() + " --out " + out()), {provenance.string(), "include_gate"});
}

TEST(RestoreCliDtype, Fp32BaseIntoBf16SftSaysItConverted) {
  test::TempDir tmp;
  auto dir = test::checkpoints_dir() / "llama_fp32_base_bf16_sft";
  auto r = run_qkrestore("restore --base " + shell_quote((dir / "base").string()) + " --sft " + shell_quote((dir / "sft").string()) +
                         " --out " + shell_quote((tmp / "out").string()));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("F32 in base and BF16 in SFT: base values converted to BF16"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace qk
