// word -> ids memo for the BPE model (text repeats its words, so most words are looked up, not
// merged). Open addressing over flat arrays: one probe usually touches one slot and one key, where a
// node-based std::unordered_map chases three pointers. Thread-safe: many readers, one writer.
#pragma once
#include <cstdint>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

namespace qk::tok {

class WordCache {
 public:
  explicit WordCache(std::size_t max_entries) : max_entries_(max_entries) {}
  WordCache(WordCache&& other) noexcept;

  // Appends the cached ids of `word` to `ids` and returns true, or returns false if absent.
  bool lookup(std::string_view word, std::vector<std::int32_t>& ids) const;
  // Remembers `word` -> `word_ids` unless the cache is full (then it stays as it is, like tokenizers').
  void insert(std::string_view word, const std::int32_t* word_ids, std::size_t count);

  static std::uint64_t hash(std::string_view word);

 private:
  struct Slot {
    std::uint64_t hash = 0;  // 0 marks an empty slot; stored hashes have their low bit set
    std::uint32_t key_offset = 0;
    std::uint32_t key_length = 0;
    std::uint32_t ids_offset = 0;
    std::uint32_t ids_count = 0;
  };
  const Slot* find(std::string_view word, std::uint64_t h) const;
  void grow();

  std::size_t max_entries_;
  std::size_t entries_ = 0;
  std::vector<Slot> slots_ = std::vector<Slot>(1024);  // size is a power of two, at most half full
  std::string keys_;                                    // all cached words, back to back
  std::vector<std::int32_t> ids_;                       // all cached ids, back to back
  mutable std::shared_mutex mutex_;
};

}  // namespace qk::tok
