#include "tokenizer/bpe_model.hpp"

#include <algorithm>
#include <cstdint>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "util/json.hpp"
#include "tokenizer/utf8.hpp"
#include "util/error.hpp"

namespace qk::tok {

BpeModel::BpeModel(BpeModel&& other) noexcept
    : vocab_(std::move(other.vocab_)),
      vocab_by_id_(std::move(other.vocab_by_id_)),
      merges_(std::move(other.merges_)),
      unk_token_(std::move(other.unk_token_)),
      continuing_subword_prefix_(std::move(other.continuing_subword_prefix_)),
      end_of_word_suffix_(std::move(other.end_of_word_suffix_)),
      fuse_unk_(other.fuse_unk_),
      byte_fallback_(other.byte_fallback_),
      ignore_merges_(other.ignore_merges_),
      independent_boundary_(std::move(other.independent_boundary_)),
      short_char_ids_(std::move(other.short_char_ids_)),
      cache_(std::move(other.cache_)) {
  std::copy(std::begin(other.byte_token_ids_), std::end(other.byte_token_ids_), byte_token_ids_);
}

BpeModel BpeModel::from_json(const nlohmann::json& model, const std::string& file) {
  std::string where = file + " model";
  std::string type = optional_string_field(model, "type", where).value_or("BPE");
  if (type != "BPE")
    fail(ErrorKind::Unsupported, "{}: model type '{}' is not supported (supported: BPE)", where, type);
  if (model.contains("dropout") && !model["dropout"].is_null() && model["dropout"].get<double>() > 0.0)
    fail(ErrorKind::Unsupported, "{}: BPE dropout makes encoding random; set \"dropout\": null", where);

  BpeModel bpe;
  const auto& vocab = object_field(model, "vocab", where);
  bpe.vocab_.reserve(vocab.size());
  bpe.vocab_by_id_.reserve(vocab.size());
  for (const auto& [token, id] : vocab.items()) {
    if (!id.is_number_integer() || id.get<std::int64_t>() < 0 || id.get<std::int64_t>() > INT32_MAX)
      fail(ErrorKind::Format, "{}: vocab entry '{}' needs an id in 0..2^31-1", where, token);
    auto value = id.get<std::int32_t>();
    auto [it, inserted] = bpe.vocab_.emplace(token, value);
    bpe.vocab_by_id_[value] = &it->first;
  }
  bpe.unk_token_ = optional_string_field(model, "unk_token", where);
  bpe.continuing_subword_prefix_ = optional_string_field(model, "continuing_subword_prefix", where).value_or("");
  bpe.end_of_word_suffix_ = optional_string_field(model, "end_of_word_suffix", where).value_or("");
  bpe.fuse_unk_ = bool_field(model, "fuse_unk", where, false);
  bpe.byte_fallback_ = bool_field(model, "byte_fallback", where, false);
  bpe.ignore_merges_ = bool_field(model, "ignore_merges", where, false);
  for (int b = 0; b < 256; ++b) {
    auto it = bpe.vocab_.find(fmt::format("<0x{:02X}>", b));
    bpe.byte_token_ids_[b] = it == bpe.vocab_.end() ? -1 : it->second;
  }

  bpe.short_char_ids_.assign(0x800, -1);
  for (char32_t c = 0; c < 0x800; ++c) {
    std::string utf8;
    append_utf8(utf8, c);
    if (auto id = bpe.token_to_id(utf8)) bpe.short_char_ids_[c] = *id;
  }

  // SentencePiece vocabularies put "▁" only at the start of a token. Then no merge joins across the
  // point before a "▁" (its result would hold "▁" inside), so a word is exactly the concatenation of
  // its "▁"-started parts. Tokenizers without a pre-tokenizer (Llama-2, Gemma) hand the model the whole
  // text as one word: cutting it keeps merging linear and lets the word cache work. "▁" must be in the
  // vocab, so that it also ends any run of unknown characters (fuse_unk).
  const std::string boundary = "\xE2\x96\x81";
  bool boundary_only_first = bpe.vocab_.count(boundary) > 0 && bpe.continuing_subword_prefix_.empty() &&
                             bpe.end_of_word_suffix_.empty();
  for (const auto& [token, id] : bpe.vocab_) {
    if (!boundary_only_first) break;
    if (token.find(boundary, 1) != std::string::npos) boundary_only_first = false;
  }
  if (boundary_only_first) bpe.independent_boundary_ = boundary;

  // Merges come as "left right" strings (older files) or as [left, right] pairs.
  const auto& merges = array_field(model, "merges", where);
  bpe.merges_.reserve(merges.size());
  std::size_t prefix_length = bpe.continuing_subword_prefix_.size();
  std::string merged;
  for (std::size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& entry = merges[rank];
    std::string_view left, right;
    if (entry.is_string()) {
      std::string_view line = entry.get_ref<const std::string&>();
      std::size_t space = line.find(' ');
      if (space == std::string_view::npos || line.find(' ', space + 1) != std::string_view::npos)
        fail(ErrorKind::Format, "{}: merges[{}] \"{}\" is not two tokens separated by one space", where, rank, line);
      left = line.substr(0, space);
      right = line.substr(space + 1);
    } else if (entry.is_array() && entry.size() == 2 && entry[0].is_string() && entry[1].is_string()) {
      left = entry[0].get_ref<const std::string&>();
      right = entry[1].get_ref<const std::string&>();
    } else {
      fail(ErrorKind::Format, "{}: merges[{}] is neither \"a b\" nor [\"a\", \"b\"]", where, rank);
    }
    auto left_id = bpe.token_to_id(left), right_id = bpe.token_to_id(right);
    if (!left_id || !right_id)
      fail(ErrorKind::Format, "{}: merges[{}] uses token '{}' that is not in the vocab", where, rank,
           left_id ? right : left);
    // The merged token drops the right side's continuing_subword_prefix ("##").
    merged.assign(left);
    merged.append(right.substr(std::min(prefix_length, right.size())));
    auto merged_id = bpe.token_to_id(merged);
    if (!merged_id)
      fail(ErrorKind::Format, "{}: merges[{}] makes '{}', which is not in the vocab", where, rank, merged);
    bpe.merges_.set(*left_id, *right_id, Merge{static_cast<std::uint32_t>(rank), *merged_id});
  }
  return bpe;
}

std::optional<std::int32_t> BpeModel::token_to_id(std::string_view token) const {
  auto it = vocab_.find(token);
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

const std::string* BpeModel::id_to_token(std::int32_t id) const {
  auto it = vocab_by_id_.find(id);
  return it == vocab_by_id_.end() ? nullptr : it->second;
}

std::optional<std::uint32_t> BpeModel::merge_rank(std::int32_t left, std::int32_t right) const {
  const Merge* merge = merges_.find(left, right);
  if (!merge) return std::nullopt;
  return merge->rank;
}

void BpeModel::tokenize(std::string_view word, std::vector<std::int32_t>& ids) const {
  if (word.empty()) return;
  if (!independent_boundary_.empty()) {
    std::size_t start = 0;
    for (std::size_t at = word.find(independent_boundary_, 1); at != std::string_view::npos;
         at = word.find(independent_boundary_, at + 1)) {
      tokenize_word(word.substr(start, at - start), ids);
      start = at;
    }
    word = word.substr(start);
  }
  tokenize_word(word, ids);
}

void BpeModel::tokenize_word(std::string_view word, std::vector<std::int32_t>& ids) const {
  // The cache also remembers ignore_merges answers, so a repeated word costs one lookup either way.
  bool cacheable = word.size() < kCacheMaxWordBytes;
  if (cacheable && cache_.lookup(word, ids)) return;
  std::size_t first = ids.size();
  std::optional<std::int32_t> whole_word;
  if (ignore_merges_) whole_word = token_to_id(word);  // Llama-3: a word in the vocab is one token
  if (whole_word) ids.push_back(*whole_word);
  else merge_word(word, ids);
  if (cacheable) cache_.insert(word, ids.data() + first, ids.size() - first);
}

void BpeModel::merge_word(std::string_view word, std::vector<std::int32_t>& ids) const {
  // 1. One symbol per character (with prefix/suffix decorations); characters outside the vocab become
  //    their <0xNN> byte tokens (byte_fallback) or the unknown token, fused when fuse_unk is set.
  std::vector<std::int32_t> symbols;
  symbols.reserve(word.size());
  std::optional<std::int32_t> unk_id;
  if (unk_token_) unk_id = token_to_id(*unk_token_);
  bool pending_unk = false;  // an unknown token waits to be emitted (tokenizers emits it late)
  std::string decorated;
  for (std::size_t pos = 0; pos < word.size();) {
    std::size_t start = pos;
    pos += utf8_sequence_length(static_cast<unsigned char>(word[pos]));
    std::string_view character = word.substr(start, pos - start);
    std::string_view lookup = character;
    bool decorate = (start > 0 && !continuing_subword_prefix_.empty()) ||
                    (pos == word.size() && !end_of_word_suffix_.empty());
    if (!decorate && character.size() <= 2) {  // table lookup instead of hashing the character
      std::size_t at = 0;
      std::int32_t id = short_char_ids_[next_code_point(character, at)];
      if (id >= 0) {
        if (pending_unk) {
          symbols.push_back(*unk_id);
          pending_unk = false;
        }
        symbols.push_back(id);
        continue;
      }
    }
    if (decorate) {
      decorated.clear();
      if (start > 0) decorated += continuing_subword_prefix_;
      decorated += character;
      if (pos == word.size()) decorated += end_of_word_suffix_;
      lookup = decorated;
    }
    if (auto id = token_to_id(lookup)) {
      if (pending_unk) {
        symbols.push_back(*unk_id);
        pending_unk = false;
      }
      symbols.push_back(*id);
      continue;
    }
    if (byte_fallback_) {
      bool all_bytes = true;
      for (char b : lookup) all_bytes = all_bytes && byte_token_ids_[static_cast<unsigned char>(b)] >= 0;
      if (all_bytes) {
        for (char b : lookup) symbols.push_back(byte_token_ids_[static_cast<unsigned char>(b)]);
        continue;
      }
    }
    if (unk_token_) {
      if (!unk_id)
        fail(ErrorKind::Format, "unk_token '{}' is not in the vocab", *unk_token_);
      if (pending_unk && !fuse_unk_) symbols.push_back(*unk_id);
      pending_unk = true;
    }
    // Without an unk_token an unknown character is dropped, as tokenizers does.
  }
  if (pending_unk) symbols.push_back(*unk_id);
  // 2. Merge pairs, always the lowest-ranked one first.
  apply_merges(symbols);
  ids.insert(ids.end(), symbols.begin(), symbols.end());
}

void BpeModel::apply_merges(std::vector<std::int32_t>& symbols) const {
  // tokenizers' Word::merge_all: symbols form a doubly linked list; a min-heap holds candidate merges
  // ordered by (rank, position). An entry is stale when its pair changed since it was queued.
  const std::size_t n = symbols.size();
  if (n < 2) return;
  struct Candidate {
    std::uint32_t rank;
    std::int32_t pos;
    std::int32_t new_id;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  // Scratch space reused across calls on this thread (merge_word is never re-entered).
  thread_local std::vector<std::int32_t> prev, next;
  thread_local std::vector<Candidate> heap;
  prev.resize(n);
  next.resize(n);
  heap.clear();
  for (std::size_t i = 0; i < n; ++i) {
    prev[i] = static_cast<std::int32_t>(i) - 1;
    next[i] = i + 1 < n ? static_cast<std::int32_t>(i + 1) : -1;
  }
  const std::greater<> later;  // std heap functions keep the smallest (rank, pos) on top with this
  auto push_if_merge = [&](std::int32_t pos) {
    if (pos < 0 || next[pos] < 0) return;
    if (const Merge* m = merges_.find(symbols[pos], symbols[next[pos]])) {
      heap.push_back({m->rank, pos, m->new_id});
      std::push_heap(heap.begin(), heap.end(), later);
    }
  };
  for (std::size_t i = 0; i + 1 < n; ++i) push_if_merge(static_cast<std::int32_t>(i));
  constexpr std::int32_t kRemoved = -2;  // marks a symbol merged into its left neighbour
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), later);
    Candidate top = heap.back();
    heap.pop_back();
    if (prev[top.pos] == kRemoved || next[top.pos] < 0) continue;
    std::int32_t right = next[top.pos];
    const Merge* m = merges_.find(symbols[top.pos], symbols[right]);
    if (!m || m->new_id != top.new_id) continue;  // stale entry
    symbols[top.pos] = top.new_id;
    next[top.pos] = next[right];
    if (next[right] >= 0) prev[next[right]] = top.pos;
    prev[right] = kRemoved;
    push_if_merge(prev[top.pos]);
    push_if_merge(top.pos);
  }
  std::size_t kept = 0;
  for (std::size_t i = 0; i < n; ++i)
    if (prev[i] != kRemoved) symbols[kept++] = symbols[i];
  symbols.resize(kept);
}

}  // namespace qk::tok
