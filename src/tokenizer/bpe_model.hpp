// The BPE model of tokenizer.json ("model": {"type": "BPE", ...}): a vocabulary, ranked merges, and
// the options byte_fallback, fuse_unk, unk_token, ignore_merges, continuing_subword_prefix and
// end_of_word_suffix. Encodes one pre-tokenized word at a time, exactly as tokenizers' BPE::tokenize.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "tokenizer/merge_table.hpp"
#include "tokenizer/word_cache.hpp"

namespace qk::tok {

// Hash that lets unordered_map<std::string, ...> be searched with a string_view, without a copy.
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <typename Value>
using StringMap = std::unordered_map<std::string, Value, StringHash, std::equal_to<>>;

class BpeModel {
 public:
  static BpeModel from_json(const nlohmann::json& model, const std::string& where);
  BpeModel(const BpeModel&) = delete;
  BpeModel(BpeModel&& other) noexcept;

  // Appends the ids of `word` (one pre-token, in the model's alphabet) to `ids`.
  void tokenize(std::string_view word, std::vector<std::int32_t>& ids) const;

  std::optional<std::int32_t> token_to_id(std::string_view token) const;
  const std::string* id_to_token(std::int32_t id) const;
  const StringMap<std::int32_t>& vocab() const { return vocab_; }

  // Exposed for unit tests: the rank of merging tokens `left` and `right`, if that merge exists.
  std::optional<std::uint32_t> merge_rank(std::int32_t left, std::int32_t right) const;

 private:
  BpeModel() = default;
  void tokenize_word(std::string_view word, std::vector<std::int32_t>& ids) const;
  void merge_word(std::string_view word, std::vector<std::int32_t>& ids) const;
  void apply_merges(std::vector<std::int32_t>& symbols) const;

  StringMap<std::int32_t> vocab_;
  // id -> key in vocab_ (node keys never move). A map, not a table indexed by id: ids may be sparse, and
  // one id near 2^31 in a small vocab must not cost gigabytes (the fuzzer's find).
  std::unordered_map<std::int32_t, const std::string*> vocab_by_id_;
  MergeTable merges_;
  std::optional<std::string> unk_token_;
  std::string continuing_subword_prefix_;
  std::string end_of_word_suffix_;
  bool fuse_unk_ = false;
  bool byte_fallback_ = false;
  bool ignore_merges_ = false;
  std::int32_t byte_token_ids_[256];  // id of "<0xNN>" or -1, for byte_fallback

  // "▁" when the word may be cut before each "▁" without changing the result (see from_json), else empty.
  std::string independent_boundary_;
  // Characters below U+0800 (one or two UTF-8 bytes) -> id or -1: skips hashing for most symbols.
  std::vector<std::int32_t> short_char_ids_;

  // word -> ids for words shorter than kCacheMaxWordBytes, bounded like tokenizers' cache.
  static constexpr std::size_t kCacheCapacity = 200'000;
  static constexpr std::size_t kCacheMaxWordBytes = 256;
  mutable WordCache cache_{kCacheCapacity};
};

}  // namespace qk::tok
