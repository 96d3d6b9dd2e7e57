// The BPE merge table: (left id, right id) -> (rank, merged id), open addressing over one flat array.
// Looked up once per adjacent symbol pair while merging, so it is kept compact and probe-friendly.
#pragma once
#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace qk::tok {

struct Merge {
  std::uint32_t rank;   // position in the merges list: lower merges first
  std::int32_t new_id;  // id of the concatenated token
};

class MergeTable {
 public:
  void reserve(std::size_t count) {
    std::size_t size = std::bit_ceil(std::max<std::size_t>(16, count * 2));  // at most half full
    if (size <= slots_.size()) return;
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(size, Slot{});
    mask_ = size - 1;
    count_ = 0;
    for (const Slot& slot : old)
      if (slot.key != kEmpty) insert_slot(slot);
  }
  // A later entry for the same pair replaces the earlier one (as a HashMap collect does in tokenizers).
  void set(std::int32_t left, std::int32_t right, Merge merge) {
    if ((count_ + 1) * 2 > slots_.size()) reserve(count_ + 1);
    insert_slot(Slot{pack(left, right), merge});
  }
  const Merge* find(std::int32_t left, std::int32_t right) const {
    if (slots_.empty()) return nullptr;
    std::uint64_t key = pack(left, right);
    for (std::size_t i = mix(key) & mask_;; i = (i + 1) & mask_) {
      const Slot& slot = slots_[i];
      if (slot.key == key) return &slot.merge;
      if (slot.key == kEmpty) return nullptr;
    }
  }

 private:
  static constexpr std::uint64_t kEmpty = ~0ull;  // ids are non-negative, so no pair packs to this
  struct Slot {
    std::uint64_t key = kEmpty;
    Merge merge{};
  };
  static std::uint64_t pack(std::int32_t left, std::int32_t right) {
    return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(left)) << 32) | static_cast<std::uint32_t>(right);
  }
  static std::size_t mix(std::uint64_t key) {
    key ^= key >> 31;
    key *= 0x9E3779B97F4A7C15ull;
    return static_cast<std::size_t>(key ^ (key >> 29));
  }
  void insert_slot(const Slot& slot) {
    std::size_t i = mix(slot.key) & mask_;
    while (slots_[i].key != kEmpty && slots_[i].key != slot.key) i = (i + 1) & mask_;
    if (slots_[i].key == kEmpty) ++count_;
    slots_[i] = slot;
  }

  std::vector<Slot> slots_;
  std::size_t mask_ = 0;
  std::size_t count_ = 0;
};

}  // namespace qk::tok
