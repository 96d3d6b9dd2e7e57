#include "io/safetensors.hpp"

#include <gtest/gtest.h>

#include "io/checkpoint.hpp"
#include "support/temp_dir.hpp"
#include "util/error.hpp"
#include "util/json.hpp"

namespace qk {
namespace {

using test::TempDir;

// Builds a safetensors file from a header text and a data section, with an optional lying length.
std::string make_file(const std::string& header, const std::string& data, std::optional<std::uint64_t> length = std::nullopt) {
  std::uint64_t n = length.value_or(header.size());
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return bytes + header + data;
}

std::string error_of(const std::filesystem::path& path) {
  try {
    SafetensorsFile file(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

class SafetensorsTest : public ::testing::Test {
 protected:
  std::filesystem::path write(const std::string& bytes) {
    auto path = dir_ / "model.safetensors";
    test::write_bytes(path, bytes);
    return path;
  }
  TempDir dir_;
};

TEST_F(SafetensorsTest, ReadsTensorsMetadataAndBytes) {
  const std::string header =
      R"({"__metadata__":{"format":"pt"},"b":{"dtype":"BF16","shape":[2],"data_offsets":[8,12]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  auto path = write(make_file(header, "AAAABBBBCCDD"));
  SafetensorsFile file(path);
  ASSERT_EQ(file.tensors().size(), 2u);
  EXPECT_EQ(file.tensors()[0].name, "a");  // in data order
  EXPECT_EQ(file.metadata().at("format"), "pt");
  const TensorInfo& b = file.at("b");
  EXPECT_EQ(b.dtype, DType::BF16);
  auto data = file.data(b);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(data.data()), data.size()), "CCDD");
  EXPECT_EQ(file.find("missing"), nullptr);
}

TEST_F(SafetensorsTest, AcceptsEveryListedDtype) {
  for (const char* name : {"BOOL", "U8", "I8", "U16", "I16", "U32", "I32", "U64", "I64", "F8_E4M3", "F8_E5M2", "F16", "BF16", "F32", "F64"}) {
    auto dtype = parse_dtype(name);
    ASSERT_TRUE(dtype) << name;
    std::size_t size = dtype_size(*dtype);
    std::string header = fmt::format(R"({{"t":{{"dtype":"{}","shape":[3],"data_offsets":[0,{}]}}}})", name, 3 * size);
    auto path = write(make_file(header, std::string(3 * size, 'x')));
    EXPECT_EQ(error_of(path), "") << name;
    std::filesystem::remove(path);
  }
}

struct BadCase {
  const char* label;
  std::string bytes;
  const char* expected;  // substring of the error
};

TEST_F(SafetensorsTest, RejectsMalformedFilesWithANamedReason) {
  const std::string ok_entry = R"("t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  const std::vector<BadCase> cases = {
      {"shorter than the length field", "abc", "too short"},
      {"header longer than the file", make_file("{}", "", 5000), "runs past the end"},
      {"header over 100 MB", make_file("{}", "", 200'000'000), "exceeds"},
      {"not JSON", make_file("{not json", ""), "not valid JSON"},
      {"not an object", make_file("[1,2]", ""), "JSON object"},
      {"unknown dtype", make_file(R"({"t":{"dtype":"F12","shape":[1],"data_offsets":[0,2]}})", "xx"), "unknown dtype 'F12'"},
      {"shape and size disagree", make_file(R"({"t":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", "12345678"), "needs 12 bytes"},
      {"offset out of range", make_file("{" + ok_entry + "}", "1234"), "offsets out of range"},
      {"trailing bytes", make_file("{" + ok_entry + "}", "1234567890"), "trailing bytes"},
      {"overlap", make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", "12345678"), "overlap"},
      {"gap", make_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})", "123456789012"), "gap"},
      {"end before begin", make_file(R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}})", ""), "end before begin"},
      {"duplicate name", make_file("{" + ok_entry + "," + ok_entry + "}", "12345678"), "appears twice"},
      {"negative shape", make_file(R"({"t":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", "1234"), "non-negative"},
      {"huge shape", make_file(R"({"t":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}})", "1234"), "overflows"},
      {"metadata not strings", make_file(R"({"__metadata__":{"a":1}})", ""), "not a string"},
  };
  for (const auto& c : cases) {
    auto path = write(c.bytes);
    std::string message = error_of(path);
    EXPECT_NE(message.find(c.expected), std::string::npos) << c.label << ": got '" << message << "'";
    EXPECT_NE(message.find(path.string()), std::string::npos) << c.label << ": the message must name the file";
    std::filesystem::remove(path);
  }
}

TEST(SafetensorsHeader, SerializedHeaderRoundTripsAndIsPaddedTo8) {
  std::vector<TensorInfo> tensors = {{"x", DType::BF16, {2, 3}, 0, 12}, {"y", DType::F32, {1}, 12, 16}};
  std::string text = serialize_safetensors_header(tensors, {{"format", "pt"}});
  EXPECT_EQ(text.size() % 8, 0u);
  auto parsed = parse_safetensors_header(text, 16, "test");
  ASSERT_EQ(parsed.tensors.size(), 2u);
  EXPECT_EQ(parsed.tensors[0].shape, (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(parsed.metadata.at("format"), "pt");
}

TEST(Checkpoint, OpensShardedTransformersOutputAndAgreesWithItsIndex) {
  Checkpoint ckpt(test::checkpoints_dir() / "llama_sharded" / "sft");
  EXPECT_TRUE(ckpt.sharded());
  EXPECT_GT(ckpt.shards().size(), 1u);
  std::size_t total = 0;
  for (const auto& name : ckpt.tensor_names()) {
    EXPECT_TRUE(ckpt.index()["weight_map"].contains(name)) << name;
    total += ckpt.at(name).info->byte_size();
  }
  EXPECT_EQ(total, ckpt.index()["metadata"]["total_size"].get<std::size_t>());
  EXPECT_EQ(ckpt.config()["model_type"], "llama");
}

TEST(Checkpoint, ReportsAShardMissingFromTheIndexOrTheDisk) {
  TempDir dir;
  const auto source = test::checkpoints_dir() / "llama_sharded" / "sft";
  std::filesystem::copy(source, dir.path() / "ckpt", std::filesystem::copy_options::recursive);
  auto index = read_json_file(dir.path() / "ckpt" / "model.safetensors.index.json");
  std::string shard = index["weight_map"].begin().value();
  std::filesystem::remove(dir.path() / "ckpt" / shard);
  try {
    Checkpoint ckpt(dir.path() / "ckpt");
    FAIL() << "a missing shard must be an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(shard), std::string::npos) << e.what();
  }
}

// An index naming a shard longer than a file name may be (found by fuzz/index_json_fuzzer.cpp) is an error
// naming it, not a std::filesystem_error.
TEST(Checkpoint, AShardNameTheFileSystemRefusesIsAnErrorNamingIt) {
  TempDir dir;
  std::filesystem::copy(test::checkpoints_dir() / "llama_sharded" / "sft", dir.path() / "ckpt",
                        std::filesystem::copy_options::recursive);
  auto index = read_json_file(dir.path() / "ckpt" / "model.safetensors.index.json");
  const std::string shard = "model" + std::string(300, '>') + "-00001-of-00002.safetensors";
  index["weight_map"].begin().value() = shard;
  test::write_bytes(dir.path() / "ckpt" / "model.safetensors.index.json", index.dump());
  try {
    Checkpoint ckpt(dir.path() / "ckpt");
    FAIL() << "a shard name longer than NAME_MAX must be an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Io);
    EXPECT_NE(std::string(e.what()).find(shard + " listed in the index cannot be looked up"), std::string::npos) << e.what();
  }
}

TEST(Checkpoint, RejectsNonJsonConfig) {
  TempDir dir;
  std::filesystem::copy(test::checkpoints_dir() / "llama" / "sft", dir.path() / "ckpt", std::filesystem::copy_options::recursive);
  test::write_bytes(dir.path() / "ckpt" / "config.json", "{\"model_type\": \"llama\",");
  try {
    Checkpoint ckpt(dir.path() / "ckpt");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("config.json is not valid JSON"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace qk
