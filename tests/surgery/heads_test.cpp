// --heads on the transformers-made reference pairs: the rows of the selected KV groups / query
// heads come from base and every other byte from SFT, where "the rows of head h" is read from the
// manifest that transformers wrote (query_rows / key_rows of gated and fused layouts), not from the
// plan under test.
#include <cstring>

#include <gtest/gtest.h>

#include "io/dtype.hpp"
#include "support/manifest.hpp"
#include "surgery/blend_method.hpp"
#include "surgery/method.hpp"
#include "surgery/output.hpp"
#include "surgery/procrustes_method.hpp"
#include "surgery/verify.hpp"
#include "util/error.hpp"
#include "util/json.hpp"

namespace qk {
namespace {

using RowSet = std::set<std::int64_t>;

// Rows (elements for a bias) of every global Q/K tensor of `layer` that the selection takes from
// base, derived from the manifest: query head h reads KV head h / (heads / kv_heads).
std::map<std::string, RowSet> expected_rows(const test::Manifest& m, int layer, const std::set<int>& groups, const std::set<int>& single_queries) {
  const auto& attention = m.json()["global_attention"][std::to_string(layer)];
  const int heads = attention["num_heads"], kv_heads = attention["num_kv_heads"], hd = attention["head_dim"];
  std::set<int> queries = single_queries;
  for (int h = 0; h < heads; ++h)
    if (groups.count(h / (heads / kv_heads))) queries.insert(h);
  const std::string layout = attention["layout"];
  std::map<std::string, RowSet> rows;
  for (const auto& t : m.json()["global_qk_tensors"][std::to_string(layer)]) {
    const std::string role = t["role"], name = t["saved_name"];
    RowSet& r = rows[name];
    auto add_block = [&](std::int64_t first) {
      for (std::int64_t i = first; i < first + hd; ++i) r.insert(i);
    };
    if (role == "q_weight" || role == "q_bias") {
      for (int h : queries) add_block(layout == "gated" ? attention["query_rows"][h][0].get<std::int64_t>() : std::int64_t{h} * hd);
    } else if (role == "k_weight" || role == "k_bias") {
      for (int g : groups) add_block(std::int64_t{g} * hd);
    } else if (role == "fused_qkv_weight") {
      for (int h : queries) add_block(attention["query_rows"][0].get<std::int64_t>() + std::int64_t{h} * hd);
      for (int g : groups) add_block(attention["key_rows"][0].get<std::int64_t>() + std::int64_t{g} * hd);
    }
    if (r.empty()) rows.erase(name);
  }
  return rows;
}

std::vector<std::byte> base_row_as_sft(const TensorRef& base, const TensorRef& sft, std::int64_t row) {
  const std::uint64_t elements = sft.info->element_count() / std::max<std::int64_t>(sft.info->rows(), 1);
  const std::size_t in = dtype_size(base.info->dtype);
  std::vector<std::byte> bytes(sft.info->row_bytes());
  convert_dtype(base.info->dtype, base.data().subspan(row * elements * in, elements * in), sft.info->dtype, bytes);
  return bytes;
}

// Every byte of `out`: base's rows where `want` says, SFT's everywhere else.
void expect_rows_from(const Checkpoint& base, const Checkpoint& sft, const Checkpoint& out, const std::map<std::string, RowSet>& want) {
  for (const auto& name : sft.tensor_names()) {
    TensorRef o = out.at(name), s = sft.at(name);
    auto it = want.find(name);
    if (it == want.end()) {
      ASSERT_EQ(0, std::memcmp(o.data().data(), s.data().data(), s.info->byte_size())) << name << " must be SFT's bytes";
      continue;
    }
    const std::uint64_t row_bytes = s.info->row_bytes();
    for (std::int64_t row = 0; row < s.info->rows(); ++row) {
      const bool from_base = it->second.count(row) > 0;
      std::vector<std::byte> expect = from_base ? base_row_as_sft(base.at(name), s, row)
                                                : std::vector<std::byte>(s.data().begin() + row * row_bytes, s.data().begin() + (row + 1) * row_bytes);
      ASSERT_EQ(0, std::memcmp(o.data().data() + row * row_bytes, expect.data(), row_bytes))
          << name << " row " << row << " should come from " << (from_base ? "base" : "sft");
    }
  }
}

class HeadsRestore : public ::testing::TestWithParam<std::string> {};

TEST_P(HeadsRestore, OnlyTheSelectedRowsComeFromBase) {
  const test::Manifest m = test::load_manifest(GetParam(), test::checkpoints_dir() / GetParam());
  const auto globals = m.layers("global_layers");
  const int first = *globals.begin(), last = *globals.rbegin();
  // KV group 1 of the first global layer, plus query head 0 alone (its group not taken) of the last.
  Selection options;
  options.heads = HeadSpec::parse(fmt::format("{}:1,{}:q0", first, last));
  test::TempDir dir;
  Checkpoint base(m.dir / "base"), sft(m.dir / "sft");
  const SurgeryPlan plan = make_plan(base, sft, options, FamilyTable::builtin());
  OutputOptions output;
  output.out = dir / "out";
  output.quiet = true;
  output.selection = options;
  write_output(base, sft, plan, RestoreMethod(), output);

  auto want = expected_rows(m, first, {1}, {});
  if (last != first)
    for (auto& [name, rows] : expected_rows(m, last, {}, {0})) want[name] = rows;
  else
    for (auto& [name, rows] : expected_rows(m, first, {1}, {0})) want[name] = rows;
  ASSERT_FALSE(want.empty());
  Checkpoint out(dir / "out");
  expect_rows_from(base, sft, out, want);
  const auto report = verify_output(base, sft, dir / "out", FamilyTable::builtin(), true);
  EXPECT_TRUE(report.problems.empty()) << report.problems.front();
  const auto provenance = read_json_file(dir / "out" / "qkrestore.json");
  EXPECT_EQ(provenance["options"]["heads"], options.heads->to_string());
}

// llama and mistral: GQA (4 query heads on 2 KV heads); qwen2: q/k biases; qwen3_next / qwen3_5:
// gated q_proj; phi3: fused qkv_proj; gemma3: global layers among sliding ones; nemotron_h: mixer names;
// cohere2: NoPE global layer among RoPE sliding ones.
INSTANTIATE_TEST_SUITE_P(Families, HeadsRestore,
                         ::testing::Values("llama", "mistral", "qwen2", "qwen3_next", "qwen3_5", "phi3", "gemma3", "nemotron_h", "olmo3", "cohere2",
                                           "llama_fp32_base_bf16_sft"));

TEST(Heads, GatedQueryWithIncludeGateTakesTheGateRowsOfTheSelectedHeadsOnly) {
  const test::Manifest m = test::load_manifest("qwen3_next", test::checkpoints_dir() / "qwen3_next");
  Checkpoint base(m.dir / "base"), sft(m.dir / "sft");
  Selection options;
  options.heads = HeadSpec::parse("1:0");
  options.include_gate = true;
  const SurgeryPlan plan = make_plan(base, sft, options, FamilyTable::builtin());
  const PlannedTensor* q = plan.find("model.layers.1.self_attn.q_proj.weight");
  ASSERT_NE(q, nullptr);
  // Heads 0 and 1 read KV head 0: their query and gate rows, 0-63 of 128.
  ASSERT_EQ(q->rows.size(), 1u);
  EXPECT_EQ(q->rows[0].begin, 0);
  EXPECT_EQ(q->rows[0].end, 64);
  EXPECT_EQ(plan.find("model.layers.3.self_attn.q_proj.weight"), nullptr);  // layer 3 not selected
}

// Restores `spec` on the qwen3 pair into dir/out (bytes flipped by the caller).
void restore_heads(const std::filesystem::path& fixture, const std::string& spec, const std::filesystem::path& out) {
  Checkpoint base(fixture / "base"), sft(fixture / "sft");
  Selection options;
  options.heads = HeadSpec::parse(spec);
  OutputOptions output;
  output.out = out;
  output.quiet = true;
  output.selection = options;
  write_output(base, sft, make_plan(base, sft, options, FamilyTable::builtin()), RestoreMethod(), output);
}

TEST(Heads, VerifyCatchesAFlippedByteInASelectedAndInAnUnselectedRow) {
  const auto fixture = test::checkpoints_dir() / "llama";
  const std::string name = "model.layers.2.self_attn.k_proj.weight";  // KV group 1 = rows 8-15 of 16
  for (const bool selected : {true, false}) {
    test::TempDir dir;
    restore_heads(fixture, "2:1", dir / "out");
    std::string bytes = test::read_bytes(dir / "out" / "model.safetensors");
    std::uint64_t offset;
    {
      Checkpoint out(dir / "out");
      auto k = out.at(name);
      offset = k.file->data_start() + k.info->begin + (selected ? 9 : 2) * k.info->row_bytes() + 1;
    }
    bytes[offset] ^= 1;
    test::write_bytes(dir / "out" / "model.safetensors", bytes);
    Checkpoint base(fixture / "base"), sft(fixture / "sft");
    const auto report = verify_output(base, sft, dir / "out", FamilyTable::builtin(), true);
    ASSERT_FALSE(report.problems.empty()) << (selected ? "selected" : "unselected") << " row";
    EXPECT_NE(report.problems.front().find(name), std::string::npos) << report.problems.front();
  }
}

TEST(Heads, BlendAtAlphaOneIsRestoreOfTheSameHeads) {
  const auto fixture = test::checkpoints_dir() / "qwen2";
  Checkpoint base(fixture / "base"), sft(fixture / "sft");
  Selection options;
  options.heads = HeadSpec::parse("1:0,3:q3");
  const SurgeryPlan plan = make_plan(base, sft, options, FamilyTable::builtin());
  for (const auto& group : layer_groups(plan)) {
    std::vector<TensorPair> pairs;
    for (const auto* t : group) pairs.push_back({t, base.at(t->name), sft.at(t->name)});
    EXPECT_EQ(BlendMethod(1.0).compute_layer(pairs, plan), RestoreMethod().compute_layer(pairs, plan));
  }
}

TEST(Heads, ProcrustesAlignsOnlyTheSelectedGroups) {
  const test::Manifest m = test::load_manifest("llama", test::checkpoints_dir() / "llama");
  Checkpoint base(m.dir / "base"), sft(m.dir / "sft");
  Selection options;
  options.heads = HeadSpec::parse("1:1");
  test::TempDir dir;
  OutputOptions output;
  output.out = dir / "out";
  output.quiet = true;
  output.selection = options;
  ProcrustesMethod method(1.0, Granularity::Group);
  write_output(base, sft, make_plan(base, sft, options, FamilyTable::builtin()), method, output);
  ASSERT_EQ(method.alignments().size(), 1u);
  EXPECT_EQ(method.alignments()[0].layer, 1);
  EXPECT_EQ(method.alignments()[0].group, 1);
  // Outside the group: SFT's bytes; inside: changed (aligned base, neither SFT nor plain base).
  const auto want = expected_rows(m, 1, {1}, {});
  Checkpoint out(dir / "out");
  for (const auto& name : sft.tensor_names()) {
    TensorRef o = out.at(name), s = sft.at(name);
    auto it = want.find(name);
    const std::uint64_t row_bytes = s.info->row_bytes();
    for (std::int64_t row = 0; row < s.info->rows(); ++row) {
      const bool same = std::memcmp(o.data().data() + row * row_bytes, s.data().data() + row * row_bytes, row_bytes) == 0;
      if (it == want.end() || !it->second.count(row)) {
        ASSERT_TRUE(same) << name << " row " << row;
      }
    }
    if (it != want.end()) {
      EXPECT_NE(0, std::memcmp(o.data().data(), s.data().data(), s.info->byte_size())) << name;
    }
  }
  const auto report = verify_output(base, sft, dir / "out", FamilyTable::builtin(), true);
  EXPECT_TRUE(report.problems.empty()) << report.problems.front();
}

std::string error_of(const std::string& fixture, const std::string& spec, bool procrustes = false) {
  Checkpoint base(test::checkpoints_dir() / fixture / "base"), sft(test::checkpoints_dir() / fixture / "sft");
  Selection options;
  options.heads = HeadSpec::parse(spec);
  try {
    const SurgeryPlan plan = make_plan(base, sft, options, FamilyTable::builtin());
    if (procrustes)
      for (const auto& group : layer_groups(plan)) {
        std::vector<TensorPair> pairs;
        for (const auto* t : group) pairs.push_back({t, base.at(t->name), sft.at(t->name)});
        ProcrustesMethod(1.0, Granularity::Group).compute_layer(pairs, plan);
      }
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Heads, ParseErrorsNameTheBadToken) {
  for (const auto& [spec, token] : std::vector<std::pair<std::string, std::string>>{
           {"3:0,x:1", "'x:1'"}, {"3:0,7", "'7'"}, {"3:a", "'3:a'"}, {"3:2-1", "'3:2-1'"}, {"3:qx", "'3:qx'"}, {"3:0,,7:1", "''"}, {"3:", "'3:'"}}) {
    try {
      HeadSpec::parse(spec);
      ADD_FAILURE() << spec << " parsed";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Usage);
      EXPECT_NE(std::string(e.what()).find("token " + token), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(HeadSpec::parse("7:*, 3:0-1,3:q5").to_string(), "3:0,3:1,3:q5,7:*");
}

TEST(Heads, RefusalsSayWhy) {
  EXPECT_NE(error_of("kimi_linear", "1:0").find("MLA"), std::string::npos) << error_of("kimi_linear", "1:0");
  EXPECT_NE(error_of("zamba2", "1:0").find("shared by several layers"), std::string::npos) << error_of("zamba2", "1:0");
  const std::string linear = error_of("qwen3_next", "0:0");
  EXPECT_NE(linear.find("layer 0, a linear layer"), std::string::npos) << linear;
  const std::string sliding = error_of("gemma3", "0:0");
  EXPECT_NE(sliding.find("--include-sliding"), std::string::npos) << sliding;
  const std::string group = error_of("llama", "1:2");
  EXPECT_NE(group.find("layer 1 has 2 KV groups (0-1) and 4 query heads (q0-q3)"), std::string::npos) << group;
  const std::string query = error_of("llama", "1:q4");
  EXPECT_NE(query.find("query head 4 is out of range"), std::string::npos) << query;
  const std::string alone = error_of("llama", "1:q1", true);
  EXPECT_NE(alone.find("without their KV group"), std::string::npos) << alone;
  EXPECT_EQ(error_of("llama", "1:0,1:q1", true), "");  // q1 reads KV head 0, whose group is taken whole
  EXPECT_NE(error_of("llama", "1:0,1:q2", true).find("without their KV group"), std::string::npos);
}

}  // namespace
}  // namespace qk
