#include "tokenizer/word_cache.hpp"

#include <cstring>
#include <mutex>

namespace qk::tok {

WordCache::WordCache(WordCache&& other) noexcept
    : max_entries_(other.max_entries_),
      entries_(other.entries_),
      slots_(std::move(other.slots_)),
      keys_(std::move(other.keys_)),
      ids_(std::move(other.ids_)) {}

std::uint64_t WordCache::hash(std::string_view word) {
  // 8 bytes at a time, each folded in with a multiply and a shift (a murmur-style mix); words are short.
  constexpr std::uint64_t k = 0x9E3779B97F4A7C15ull;
  std::uint64_t h = word.size() * k;
  std::size_t i = 0;
  for (; i + 8 <= word.size(); i += 8) {
    std::uint64_t chunk;
    std::memcpy(&chunk, word.data() + i, 8);
    h = (h ^ chunk) * k;
    h ^= h >> 29;
  }
  std::uint64_t tail = 0;
  for (std::size_t j = word.size(); j > i; --j) tail = (tail << 8) | static_cast<unsigned char>(word[j - 1]);
  h = (h ^ tail) * k;
  h ^= h >> 32;
  return h | 1;
}

const WordCache::Slot* WordCache::find(std::string_view word, std::uint64_t h) const {
  std::size_t mask = slots_.size() - 1;
  for (std::size_t i = h & mask;; i = (i + 1) & mask) {
    const Slot& slot = slots_[i];
    if (slot.hash == 0) return nullptr;
    if (slot.hash == h && slot.key_length == word.size() &&
        std::memcmp(keys_.data() + slot.key_offset, word.data(), word.size()) == 0)
      return &slot;
  }
}

bool WordCache::lookup(std::string_view word, std::vector<std::int32_t>& ids) const {
  std::uint64_t h = hash(word);
  std::shared_lock lock(mutex_);
  const Slot* slot = find(word, h);
  if (!slot) return false;
  ids.insert(ids.end(), ids_.begin() + slot->ids_offset, ids_.begin() + slot->ids_offset + slot->ids_count);
  return true;
}

void WordCache::grow() {
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(old.size() * 2, Slot{});
  std::size_t mask = slots_.size() - 1;
  for (const Slot& slot : old) {
    if (slot.hash == 0) continue;
    std::size_t i = slot.hash & mask;
    while (slots_[i].hash != 0) i = (i + 1) & mask;
    slots_[i] = slot;
  }
}

void WordCache::insert(std::string_view word, const std::int32_t* word_ids, std::size_t count) {
  std::uint64_t h = hash(word);
  std::unique_lock lock(mutex_);
  if (entries_ >= max_entries_ || find(word, h)) return;
  if ((entries_ + 1) * 2 > slots_.size()) grow();
  Slot slot{h, static_cast<std::uint32_t>(keys_.size()), static_cast<std::uint32_t>(word.size()),
            static_cast<std::uint32_t>(ids_.size()), static_cast<std::uint32_t>(count)};
  keys_.append(word);
  ids_.insert(ids_.end(), word_ids, word_ids + count);
  std::size_t mask = slots_.size() - 1;
  std::size_t i = h & mask;
  while (slots_[i].hash != 0) i = (i + 1) & mask;
  slots_[i] = slot;
  ++entries_;
}

}  // namespace qk::tok
