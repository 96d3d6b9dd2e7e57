#include "tokenizer/merge_table.hpp"

#include <bit>

namespace qk::tok {

void MergeTable::reserve(std::size_t count) {
  std::size_t size = std::bit_ceil(std::max<std::size_t>(16, count * 2));  // at most half full
  if (size <= slots_.size()) return;
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(size, Slot{});
  mask_ = size - 1;
  count_ = 0;
  for (const Slot& slot : old)
    if (slot.key != kEmpty) insert_slot(slot);
}

void MergeTable::insert_slot(const Slot& slot) {
  std::size_t i = mix(slot.key) & mask_;
  while (slots_[i].key != kEmpty && slots_[i].key != slot.key) i = (i + 1) & mask_;
  if (slots_[i].key == kEmpty) ++count_;
  slots_[i] = slot;
}

void MergeTable::set(std::int32_t left, std::int32_t right, Merge merge) {
  if ((count_ + 1) * 2 > slots_.size()) reserve(count_ + 1);
  insert_slot(Slot{pack(left, right), merge});
}

}  // namespace qk::tok
