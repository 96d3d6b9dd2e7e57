// Fuzzes the safetensors reader on whole files: the u64 header length, the JSON header (dtypes,
// shapes, offsets, metadata, duplicate names) and the byte layout (offsets must tile the data
// section). Each accepted file is read back tensor by tensor and converted to F32, so a header that
// passes validation but lies about sizes shows up as an out-of-bounds read under ASan.
#include <sys/mman.h>
#include <unistd.h>
#include <vector>

#include "fuzz_support.hpp"
#include "io/dtype.hpp"
#include "io/safetensors.hpp"

namespace {

int memory_file() {
  static int fd = ::memfd_create("qkfuzz-safetensors", 0);
  return fd;
}

void read_every_tensor(const qk::SafetensorsFile& file) {
  for (const auto& t : file.tensors()) {
    auto bytes = file.data(t);
    if (bytes.size() != t.byte_size()) __builtin_trap();
    if (file.find(t.name) != &t) __builtin_trap();  // duplicates were rejected, so lookup is unique
    const std::uint64_t n = t.element_count();
    if (n == 0 || n > (1u << 16)) continue;
    std::vector<float> out(n);
    qk::convert_dtype(t.dtype, bytes, qk::DType::F32, std::as_writable_bytes(std::span(out)));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const int fd = memory_file();
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, data, size, 0) != static_cast<ssize_t>(size)) return 0;
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  qk::fuzz::expect_only_qk_errors([&] {
    qk::SafetensorsFile file(path);
    read_every_tensor(file);
    // What we accept must survive our own writer: re-serialising the header parses to the same tensors.
    const std::string again = qk::serialize_safetensors_header(file.tensors(), file.metadata());
    auto parsed = qk::parse_safetensors_header(again, file.file_size() - file.data_start(), "reserialised");
    if (parsed.tensors.size() != file.tensors().size()) __builtin_trap();
  });
  // The pure header parser alone, with the data size taken from the first 8 bytes.
  if (size >= 8) {
    std::uint64_t data_size = 0;
    for (int i = 7; i >= 0; --i) data_size = data_size << 8 | data[i];
    qk::fuzz::expect_only_qk_errors(
        [&] { qk::parse_safetensors_header(qk::fuzz::as_text(data + 8, size - 8), data_size, "fuzz header"); });
  }
  return 0;
}
