#include "io/safetensors.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

#include <nlohmann/json.hpp>

#include "util/json.hpp"
#include "util/error.hpp"

namespace qk {
namespace {

using nlohmann::json;

// Overflow-checked product of the shape and the element size.
bool checked_byte_size(const std::vector<std::int64_t>& shape, std::size_t element_size, std::uint64_t& out) {
  unsigned __int128 total = element_size;
  for (std::int64_t d : shape) {
    total *= static_cast<std::uint64_t>(d);
    if (total > std::numeric_limits<std::uint64_t>::max()) return false;
  }
  out = static_cast<std::uint64_t>(total);
  return true;
}

TensorInfo parse_tensor_entry(const std::string& name, const json& entry, const std::string& file_label) {
  auto bad = [&](std::string_view what) -> Error {
    return Error(ErrorKind::Format, fmt::format("{}: tensor '{}': {}", file_label, name, what));
  };
  if (!entry.is_object()) throw bad("entry is not a JSON object");
  if (!entry.contains("dtype") || !entry["dtype"].is_string()) throw bad("missing or non-string 'dtype'");
  auto dtype = parse_dtype(entry["dtype"].get<std::string>());
  if (!dtype) throw bad(fmt::format("unknown dtype '{}'", entry["dtype"].get<std::string>()));
  if (!entry.contains("shape") || !entry["shape"].is_array()) throw bad("missing or non-array 'shape'");
  TensorInfo info{name, *dtype, {}, 0, 0};
  for (const auto& d : entry["shape"]) {
    if (!d.is_number_unsigned()) throw bad(fmt::format("shape entry {} is not a non-negative integer", d.dump()));
    auto v = d.get<std::uint64_t>();
    if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) throw bad("shape entry too large");
    info.shape.push_back(static_cast<std::int64_t>(v));
  }
  const json* offsets = entry.contains("data_offsets") ? &entry["data_offsets"] : nullptr;
  if (!offsets || !offsets->is_array() || offsets->size() != 2 || !(*offsets)[0].is_number_unsigned() ||
      !(*offsets)[1].is_number_unsigned())
    throw bad("'data_offsets' must be two non-negative integers");
  info.begin = (*offsets)[0].get<std::uint64_t>();
  info.end = (*offsets)[1].get<std::uint64_t>();
  if (info.end < info.begin) throw bad(fmt::format("data_offsets [{}, {}] end before begin", info.begin, info.end));
  std::uint64_t expected = 0;
  if (!checked_byte_size(info.shape, dtype_size(info.dtype), expected)) throw bad("shape x dtype size overflows 64 bits");
  if (expected != info.byte_size())
    throw bad(fmt::format("shape {} of {} needs {} bytes but data_offsets [{}, {}] hold {}", json(info.shape).dump(),
                          dtype_name(info.dtype), expected, info.begin, info.end, info.byte_size()));
  return info;
}

}  // namespace

std::uint64_t TensorInfo::element_count() const {
  std::uint64_t n = 1;
  for (auto d : shape) n *= static_cast<std::uint64_t>(d);
  return n;
}

std::uint64_t TensorInfo::row_bytes() const {
  if (shape.empty()) return byte_size();
  return shape[0] == 0 ? 0 : byte_size() / static_cast<std::uint64_t>(shape[0]);
}

ParsedHeader parse_safetensors_header(std::string_view text, std::uint64_t data_size, const std::string& file_label) {
  // The reference parser requires the header to be a JSON object; trailing spaces are its padding.
  std::size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos || text[first] != '{')
    fail(ErrorKind::Format, "{}: header does not start with a JSON object", file_label);

  // Duplicate keys are refused at every level: a second entry for a tensor, or a second dtype in one.
  const json header = parse_json(text, file_label + ": header");
  if (!header.is_object()) fail(ErrorKind::Format, "{}: header is not a JSON object", file_label);

  ParsedHeader parsed;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) fail(ErrorKind::Format, "{}: __metadata__ is not an object", file_label);
      for (const auto& [key, value] : entry.items()) {
        if (!value.is_string()) fail(ErrorKind::Format, "{}: __metadata__['{}'] is not a string", file_label, key);
        parsed.metadata[key] = value.get<std::string>();
      }
      continue;
    }
    parsed.tensors.push_back(parse_tensor_entry(name, entry, file_label));
  }
  std::sort(parsed.tensors.begin(), parsed.tensors.end(), [](const TensorInfo& a, const TensorInfo& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  // The byte ranges, in order, must tile the data section: no gap, no overlap, nothing after the last.
  std::uint64_t cursor = 0;
  for (const auto& t : parsed.tensors) {
    if (t.end > data_size)
      fail(ErrorKind::Format, "{}: tensor '{}' has data_offsets [{}, {}] past the end of the {}-byte data section "
           "(offsets out of range, or the file is truncated)", file_label, t.name, t.begin, t.end, data_size);
    if (t.begin != cursor)
      fail(ErrorKind::Format, "{}: tensor '{}' starts at data offset {} but the previous tensor ends at {} ({})", file_label,
           t.name, t.begin, cursor, t.begin < cursor ? "overlap" : "gap");
    cursor = t.end;
  }
  if (cursor != data_size)
    fail(ErrorKind::Format, "{}: tensors cover {} bytes but the data section holds {} ({})", file_label, cursor, data_size,
         cursor < data_size ? "trailing bytes" : "file truncated or offsets out of range");
  return parsed;
}

std::string serialize_safetensors_header(const std::vector<TensorInfo>& tensors,
                                         const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  for (const auto& t : tensors) {
    header[t.name] = {{"dtype", std::string(dtype_name(t.dtype))}, {"shape", t.shape}, {"data_offsets", {t.begin, t.end}}};
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // the reference writer aligns the data section to 8 bytes
  return text;
}

SafetensorsFile::Identity SafetensorsFile::identity_of(const struct stat& st) {
  return {static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino), static_cast<std::uint64_t>(st.st_size),
          static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
}

void SafetensorsFile::check_unchanged() const {
  const std::string label = path().string();
  struct stat now {};
  if (::stat(path().c_str(), &now) != 0)
    fail(ErrorKind::Io, "{} was removed or renamed while it was being read; nothing was installed, rerun once it is complete", label);
  const Identity current = identity_of(now);
  if (current.device != opened_.device || current.inode != opened_.inode)
    fail(ErrorKind::Io, "{} was replaced by another file while it was being read; nothing was installed, rerun once it is complete", label);
  if (current != opened_)
    fail(ErrorKind::Io, "{} was modified while it was being read (size {} -> {} bytes, mtime changed: {}); nothing was installed, "
         "rerun once it is complete", label, opened_.size, current.size, current.mtime_ns != opened_.mtime_ns ? "yes" : "no");
}

SafetensorsFile::SafetensorsFile(const std::filesystem::path& path) : file_(path) {
  const std::string label = path.string();
  struct stat st {};
  if (::fstat(file_.fd(), &st) != 0) fail(ErrorKind::Io, "cannot stat {}: {}", label, std::strerror(errno));
  opened_ = identity_of(st);
  auto bytes = file_.bytes();
  if (bytes.size() < 8) fail(ErrorKind::Format, "{}: file is {} bytes, too short for a safetensors header length", label, bytes.size());
  std::uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i) header_size = header_size << 8 | static_cast<std::uint8_t>(bytes[i]);
  if (header_size > kMaxSafetensorsHeader)
    fail(ErrorKind::Format, "{}: header length {} exceeds the {} byte limit", label, header_size, kMaxSafetensorsHeader);
  if (header_size > bytes.size() - 8)
    fail(ErrorKind::Format, "{}: header length {} runs past the end of the {} byte file (truncated?)", label, header_size, bytes.size());
  data_start_ = 8 + header_size;
  std::string_view text(reinterpret_cast<const char*>(bytes.data()) + 8, header_size);
  ParsedHeader parsed = parse_safetensors_header(text, bytes.size() - data_start_, label);
  tensors_ = std::move(parsed.tensors);
  metadata_ = std::move(parsed.metadata);
  for (std::size_t i = 0; i < tensors_.size(); ++i) by_name_.emplace(tensors_[i].name, i);
}

const TensorInfo* SafetensorsFile::find(std::string_view name) const {
  auto it = by_name_.find(std::string(name));
  return it == by_name_.end() ? nullptr : &tensors_[it->second];
}

const TensorInfo& SafetensorsFile::at(std::string_view name) const {
  const TensorInfo* info = find(name);
  if (!info) fail(ErrorKind::Format, "{}: no tensor named '{}'", path().string(), name);
  return *info;
}

std::span<const std::byte> SafetensorsFile::data(const TensorInfo& tensor) const {
  return file_.bytes().subspan(data_start_ + tensor.begin, tensor.byte_size());
}

}  // namespace qk
