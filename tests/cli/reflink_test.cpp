// On a filesystem that shares blocks between files (XFS made with reflink=1, here loop-mounted),
// restore's OUT shares every byte it keeps from SFT with SFT's shards: the new blocks OUT takes are
// about the restored bytes, not the model's size (issue 25; bench/restore_vs_cp.sh measures the same
// on a 2 GB pair). Needs root, mkfs.xfs and a loop device; skipped with the reason elsewhere.
#include <sys/statvfs.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "io/checkpoint.hpp"
#include "io/safetensors.hpp"
#include "support/run_binary.hpp"
#include "support/temp_dir.hpp"

namespace qk {
namespace {

namespace fs = std::filesystem;
using test::run_qkrestore;
using test::shell_quote;

// An XFS image with reflink=1, loop-mounted at `dir`/mnt for the scope; why_not() is empty when mounted.
class ReflinkXfs {
 public:
  explicit ReflinkXfs(const fs::path& dir) : mount_point_(dir / "mnt") {
    if (::geteuid() != 0) {
      why_not_ = "needs root to loop-mount an XFS image";
      return;
    }
    if (std::system("command -v mkfs.xfs >/dev/null 2>&1") != 0) {
      why_not_ = "mkfs.xfs is not installed (Debian xfsprogs; scripts/install-deps.sh)";
      return;
    }
    const fs::path image = dir / "xfs.img";
    { std::ofstream(image, std::ios::binary); }
    fs::resize_file(image, 320u << 20);  // sparse; mkfs.xfs accepts nothing under 300 MB
    fs::create_directories(mount_point_);
    if (std::system(("mkfs.xfs -q -m reflink=1 " + shell_quote(image.string()) + " >/dev/null 2>&1").c_str()) != 0) {
      why_not_ = "mkfs.xfs -m reflink=1 failed";
      return;
    }
    if (std::system(("mount -o loop " + shell_quote(image.string()) + " " + shell_quote(mount_point_.string()) + " >/dev/null 2>&1").c_str()) != 0) {
      why_not_ = "mount -o loop failed (no loop device here?)";
      return;
    }
    mounted_ = true;
  }
  ~ReflinkXfs() {
    if (!mounted_) return;
    [[maybe_unused]] const int status = std::system(("umount " + shell_quote(mount_point_.string())).c_str());
  }
  const std::string& why_not() const { return why_not_; }
  const fs::path& path() const { return mount_point_; }
  std::uint64_t used_bytes() const {  // after a sync, so delayed allocations are counted
    ::sync();
    struct statvfs s {};
    ::statvfs(mount_point_.c_str(), &s);
    return static_cast<std::uint64_t>(s.f_blocks - s.f_bfree) * s.f_frsize;
  }

 private:
  fs::path mount_point_;
  bool mounted_ = false;
  std::string why_not_;
};

// A Llama-shaped bf16 checkpoint of random bytes in two shards, ~40 MB: every layer global, so restore
// takes q_proj and k_proj (a fifth of the bytes) from base.
void write_llama(const fs::path& dir, std::uint64_t seed) {
  constexpr std::int64_t kHidden = 1024, kHeads = 16, kKvHeads = 4, kHeadDim = 64, kIntermediate = 1024, kVocab = 2048, kLayers = 4;
  fs::create_directories(dir);
  std::ofstream(dir / "config.json") << nlohmann::json{{"architectures", {"LlamaForCausalLM"}}, {"model_type", "llama"},
                                                      {"hidden_size", kHidden}, {"num_hidden_layers", kLayers},
                                                      {"num_attention_heads", kHeads}, {"num_key_value_heads", kKvHeads},
                                                      {"head_dim", kHeadDim}, {"intermediate_size", kIntermediate},
                                                      {"vocab_size", kVocab}}.dump();
  std::vector<std::vector<std::pair<std::string, std::vector<std::int64_t>>>> shards(2);
  shards[0].push_back({"model.embed_tokens.weight", {kVocab, kHidden}});
  for (std::int64_t l = 0; l < kLayers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    auto& shard = shards[l < kLayers / 2 ? 0 : 1];
    for (const auto& [name, shape] : std::vector<std::pair<std::string, std::vector<std::int64_t>>>{
             {"input_layernorm.weight", {kHidden}},
             {"self_attn.q_proj.weight", {kHeads * kHeadDim, kHidden}},
             {"self_attn.k_proj.weight", {kKvHeads * kHeadDim, kHidden}},
             {"self_attn.v_proj.weight", {kKvHeads * kHeadDim, kHidden}},
             {"self_attn.o_proj.weight", {kHidden, kHeads * kHeadDim}},
             {"post_attention_layernorm.weight", {kHidden}},
             {"mlp.gate_proj.weight", {kIntermediate, kHidden}},
             {"mlp.up_proj.weight", {kIntermediate, kHidden}},
             {"mlp.down_proj.weight", {kHidden, kIntermediate}}})
      shard.push_back({p + name, shape});
  }
  shards[1].push_back({"model.norm.weight", {kHidden}});
  shards[1].push_back({"lm_head.weight", {kVocab, kHidden}});
  std::mt19937_64 random(seed);
  nlohmann::json weight_map;
  for (std::size_t s = 0; s < shards.size(); ++s) {
    const std::string file = "model-0000" + std::to_string(s + 1) + "-of-00002.safetensors";
    std::vector<TensorInfo> infos;
    std::uint64_t cursor = 0;
    for (const auto& [name, shape] : shards[s]) {
      std::uint64_t bytes = 2;
      for (auto d : shape) bytes *= static_cast<std::uint64_t>(d);
      infos.push_back({name, DType::BF16, shape, cursor, cursor + bytes});
      cursor += bytes;
      weight_map[name] = file;
    }
    const std::string header = serialize_safetensors_header(infos, {{"format", "pt"}});
    std::string data(8 + header.size() + cursor, '\0');
    for (int b = 0; b < 8; ++b) data[b] = static_cast<char>((header.size() >> (8 * b)) & 0xff);
    data.replace(8, header.size(), header);
    for (std::size_t i = 8 + header.size(); i + 8 <= data.size(); i += 8) {
      const std::uint64_t word = random();
      std::memcpy(data.data() + i, &word, 8);
    }
    test::write_bytes(dir / file, data);
  }
  std::ofstream(dir / "model.safetensors.index.json") << nlohmann::json{{"metadata", nlohmann::json::object()}, {"weight_map", weight_map}}.dump();
}

std::uint64_t bytes_from_base(const fs::path& out) {
  const auto provenance = nlohmann::json::parse(test::read_bytes(out / "qkrestore.json"));
  const Checkpoint written(out);
  std::uint64_t total = 0;
  for (const auto& [name, entry] : provenance["tensors"].items())
    if (entry["source"] != "sft") total += written.at(name).info->byte_size();
  return total;
}

std::uint64_t sft_tensor_bytes(const fs::path& sft) { return Checkpoint(sft).total_tensor_bytes(); }

TEST(ReflinkOutput, NewBlocksAreTheRestoredBytes) {
  test::TempDir tmp;
  ReflinkXfs xfs(tmp.path());
  if (!xfs.why_not().empty()) GTEST_SKIP() << "reflink check skipped: " << xfs.why_not();
  const fs::path base = xfs.path() / "base", sft = xfs.path() / "sft";
  write_llama(base, 1);
  write_llama(sft, 2);
  const std::string pair = "--base " + shell_quote(base.string()) + " --sft " + shell_quote(sft.string());
  for (const std::string extra : {"", " --fsync"}) {
    // A new OUT each time: XFS frees a removed file's blocks later, in the background, which would
    // make the next count too small.
    const fs::path out = xfs.path() / (extra.empty() ? "out" : "out_fsync");
    const std::uint64_t before = xfs.used_bytes();
    auto r = run_qkrestore("restore -q " + pair + " --out " + shell_quote(out.string()) + extra);
    ASSERT_EQ(r.status, 0) << r.output;
    const std::uint64_t new_bytes = xfs.used_bytes() - before;
    const std::uint64_t restored = bytes_from_base(out);
    // Beyond the restored bytes: a partial block at each end of each restored tensor, the small
    // files (config, index, provenance, model card) and the filesystem's own metadata.
    const std::uint64_t slack = 2u << 20;
    // Copying the bytes kept from SFT instead of sharing them would take all of them: far past the bound.
    ASSERT_GT(sft_tensor_bytes(sft) - restored, 10 * slack);
    EXPECT_LE(new_bytes, restored + slack) << "restore" << extra << ": OUT took " << new_bytes << " new bytes for " << restored
                                           << " restored bytes: the bytes kept from SFT were copied, not shared";
    r = run_qkrestore("verify -q " + pair + " --out " + shell_quote(out.string()));
    EXPECT_EQ(r.status, 0) << r.output;
    std::printf("[ reflink  ] restore%s: %llu new bytes for %llu restored bytes\n", extra.c_str(),
                static_cast<unsigned long long>(new_bytes), static_cast<unsigned long long>(restored));
  }
}

}  // namespace
}  // namespace qk
