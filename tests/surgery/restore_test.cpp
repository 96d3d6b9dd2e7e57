// restore on every reference pair, checked byte by byte without trusting the plan for the
// tensor set: every output row must be base's (converted to SFT's dtype) exactly where the
// transformers-made manifest says Q/K rows live, and SFT's everywhere else.
#include <cstring>

#include <gtest/gtest.h>

#include "io/dtype.hpp"
#include "support/manifest.hpp"
#include "surgery/method.hpp"
#include "surgery/output.hpp"
#include "surgery/verify.hpp"
#include "util/error.hpp"

namespace qk {
namespace {

class RestoreTest : public ::testing::TestWithParam<test::Manifest> {};

std::vector<std::byte> as_dtype(const TensorRef& source, DType dtype, std::uint64_t offset, std::uint64_t count) {
  const std::size_t in = dtype_size(source.info->dtype), out = dtype_size(dtype);
  std::vector<std::byte> bytes(count * out);
  convert_dtype(source.info->dtype, source.data().subspan(offset * in, count * in), dtype, bytes);
  return bytes;
}

TEST_P(RestoreTest, EveryOutputByteComesFromTheRightSource) {
  const auto& m = GetParam();
  test::TempDir dir;
  Checkpoint base(m.dir / "base"), sft(m.dir / "sft");
  const SurgeryPlan plan = make_plan(base, sft, {}, FamilyTable::builtin());
  OutputOptions options;
  options.out = dir / "out";
  options.quiet = true;
  write_output(base, sft, plan, RestoreMethod(), options);

  Checkpoint out(dir / "out");
  ASSERT_EQ(out.tensor_names().size(), sft.tensor_names().size());
  const auto expected_restored = m.global_tensors(test::kDefaultRoles);
  std::size_t restored = 0;
  for (const auto& name : sft.tensor_names()) {
    TensorRef o = out.at(name), s = sft.at(name);
    ASSERT_EQ(o.info->dtype, s.info->dtype) << name;
    ASSERT_EQ(o.info->shape, s.info->shape) << name;
    if (!expected_restored.count(name)) {
      ASSERT_EQ(0, std::memcmp(o.data().data(), s.data().data(), s.info->byte_size())) << name << " must be SFT's bytes";
      continue;
    }
    ++restored;
    const PlannedTensor* t = plan.find(name);
    ASSERT_NE(t, nullptr) << name;
    const std::uint64_t row_elements = s.info->element_count() / std::max<std::int64_t>(s.info->rows(), 1);
    const std::uint64_t row_bytes = s.info->row_bytes();
    std::vector<bool> from_base(s.info->rows(), t->whole());
    for (const auto& r : t->rows)
      for (auto i = r.begin; i < r.end; ++i) from_base[i] = true;
    for (std::int64_t row = 0; row < s.info->rows(); ++row) {
      auto actual = o.data().subspan(row * row_bytes, row_bytes);
      std::vector<std::byte> want = from_base[row] ? as_dtype(base.at(name), s.info->dtype, row * row_elements, row_elements)
                                                   : std::vector<std::byte>(s.data().begin() + row * row_bytes,
                                                                            s.data().begin() + (row + 1) * row_bytes);
      ASSERT_EQ(0, std::memcmp(actual.data(), want.data(), row_bytes))
          << name << " row " << row << " should come from " << (from_base[row] ? "base" : "sft");
    }
  }
  EXPECT_EQ(restored, expected_restored.size());
  auto report = verify_output(base, sft, dir / "out", FamilyTable::builtin(), true);
  EXPECT_TRUE(report.problems.empty()) << report.problems.front();
}

INSTANTIATE_TEST_SUITE_P(ReferenceCheckpoints, RestoreTest, ::testing::ValuesIn(test::all_manifests()), test::manifest_name);

// Restores base -> sft into `out` with the default plan, as `qkrestore restore -q` does.
void restore_into(const Checkpoint& base, const Checkpoint& sft, const std::filesystem::path& out,
                  std::optional<std::uint64_t> max_shard_size = std::nullopt) {
  OutputOptions options;
  options.out = out;
  options.quiet = true;
  options.max_shard_size = max_shard_size;
  write_output(base, sft, make_plan(base, sft, {}, FamilyTable::builtin()), RestoreMethod(), options);
}

TEST(Restore, GatedQueryRowsKeepTheSftGate) {
  auto dir = test::checkpoints_dir() / "qwen3_next";
  Checkpoint base(dir / "base"), sft(dir / "sft");
  test::TempDir tmp;
  restore_into(base, sft, tmp / "out");
  Checkpoint out(tmp / "out");
  const std::string name = "model.layers.1.self_attn.q_proj.weight";
  auto row = [&](const Checkpoint& c, int r) {
    auto info = c.at(name).info;
    return std::vector<std::byte>(c.at(name).data().begin() + r * info->row_bytes(), c.at(name).data().begin() + (r + 1) * info->row_bytes());
  };
  const int head_dim = sft.config()["head_dim"];
  EXPECT_EQ(row(out, 0), row(base, 0));                 // head 0 query
  EXPECT_EQ(row(out, head_dim), row(sft, head_dim));    // head 0 gate stays SFT
  EXPECT_NE(row(base, head_dim), row(sft, head_dim));
}

TEST(Restore, ReshardingKeepsEveryTensorAndWritesTheIndex) {
  auto dir = test::checkpoints_dir() / "llama";
  Checkpoint base(dir / "base"), sft(dir / "sft");
  test::TempDir tmp;
  restore_into(base, sft, tmp / "out", 20000);
  Checkpoint out(tmp / "out");
  EXPECT_TRUE(out.sharded());
  EXPECT_GT(out.shards().size(), 1u);
  for (const auto& shard : out.shards()) {
    std::uint64_t bytes = 0;
    for (const auto& t : shard->tensors()) bytes += t.byte_size();
    EXPECT_TRUE(bytes <= 20000 || shard->tensors().size() == 1) << shard->path();
  }
  EXPECT_EQ(out.index()["metadata"]["total_size"].get<std::uint64_t>(), sft.total_tensor_bytes());
  EXPECT_EQ(out.shards().front()->metadata(), sft.shards().front()->metadata());
  auto report = verify_output(base, sft, tmp / "out", FamilyTable::builtin(), true);
  EXPECT_TRUE(report.problems.empty());
}

TEST(Restore, VerifyNamesATamperedTensor) {
  auto dir = test::checkpoints_dir() / "qwen3";
  Checkpoint base(dir / "base"), sft(dir / "sft");
  test::TempDir tmp;
  restore_into(base, sft, tmp / "out");
  // Flip one byte of one restored and one untouched tensor.
  std::string bytes = test::read_bytes(tmp / "out" / "model.safetensors");
  std::uint64_t q_offset, mlp_offset;
  {
    Checkpoint out(tmp / "out");
    auto q = out.at("model.layers.0.self_attn.k_proj.weight");
    auto mlp = out.at("model.layers.1.mlp.up_proj.weight");
    q_offset = q.file->data_start() + q.info->begin + 3;
    mlp_offset = mlp.file->data_start() + mlp.info->begin + 5;
  }
  bytes[q_offset] ^= 1;
  bytes[mlp_offset] ^= 1;
  test::write_bytes(tmp / "out" / "model.safetensors", bytes);
  auto report = verify_output(base, sft, tmp / "out", FamilyTable::builtin(), true);
  ASSERT_EQ(report.problems.size(), 3u);  // k_proj differs, its SHA-256 differs, up_proj differs
  std::string all;
  for (const auto& p : report.problems) all += p + "\n";
  EXPECT_NE(all.find("model.layers.0.self_attn.k_proj.weight"), std::string::npos) << all;
  EXPECT_NE(all.find("model.layers.1.mlp.up_proj.weight"), std::string::npos) << all;
}

}  // namespace
}  // namespace qk
