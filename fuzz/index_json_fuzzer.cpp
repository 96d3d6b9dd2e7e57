// Fuzzes model.safetensors.index.json: a sharded checkpoint directory (the real 7-shard qwen3_next
// test checkpoint, copied once into a scratch directory) whose index is the fuzz input. The
// checkpoint must open and agree with its index, or be rejected with a qk::Error.
#include "fuzz_support.hpp"
#include "io/checkpoint.hpp"

namespace {

namespace fs = std::filesystem;

const fs::path& checkpoint_dir() {
  static const fs::path dir = [] {
    fs::path d = qk::fuzz::scratch_dir("index");
    for (const auto& e : fs::directory_iterator(fs::path(QK_SOURCE_DIR) / "testdata/checkpoints/qwen3_next_sharded/sft"))
      if (e.path().filename() != "model.safetensors.index.json")
        fs::copy_file(e.path(), d / e.path().filename(), fs::copy_options::overwrite_existing);
    return d;
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const fs::path& dir = checkpoint_dir();
  qk::fuzz::write_file(dir / "model.safetensors.index.json", qk::fuzz::as_text(data, size));
  qk::fuzz::expect_only_qk_errors([&] {
    qk::Checkpoint checkpoint(dir);
    // An accepted index names exactly the stored tensors, each findable in its shard.
    for (const auto& name : checkpoint.tensor_names())
      if (checkpoint.at(name).data().size() != checkpoint.at(name).info->byte_size()) __builtin_trap();
  });
  return 0;
}
