#include "niah/needle_values.hpp"

#include <algorithm>
#include <fstream>

#include <fmt/format.h>

#include "util/error.hpp"

namespace qk::niah {

ValueKind parse_value_kind(std::string_view name) {
  if (name == "numbers") return ValueKind::Numbers;
  if (name == "words") return ValueKind::Words;
  if (name == "uuids") return ValueKind::Uuids;
  fail(ErrorKind::Usage, "unknown needle type '{}' (expected numbers, words or uuids)", name);
}

std::string_view value_kind_name(ValueKind kind) {
  switch (kind) {
    case ValueKind::Numbers: return "numbers";
    case ValueKind::Words: return "words";
    case ValueKind::Uuids: return "uuids";
  }
  return "numbers";
}

static std::vector<std::string> read_word_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) fail(ErrorKind::Io, "cannot open word list {}", path.string());
  std::vector<std::string> words;
  for (std::string line; std::getline(in, line);) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) words.push_back(line);
  }
  if (words.empty()) fail(ErrorKind::Format, "word list {} is empty", path.string());
  return words;
}

WordList WordList::load(const std::filesystem::path& adjectives, const std::filesystem::path& nouns) {
  return WordList(read_word_file(adjectives), read_word_file(nouns));
}

// RULER builds sorted(set(f"{adj}-{noun}")); sorting and de-duplicating each list gives the same set
// in the same order as long as no word contains a hyphen, which the shipped lists guarantee.
WordList::WordList(std::vector<std::string> adjectives, std::vector<std::string> nouns)
    : adjectives_(std::move(adjectives)), nouns_(std::move(nouns)) {
  for (auto* list : {&adjectives_, &nouns_}) {
    std::sort(list->begin(), list->end());
    list->erase(std::unique(list->begin(), list->end()), list->end());
  }
  if (adjectives_.empty() || nouns_.empty()) fail(ErrorKind::Format, "adjective and noun lists must not be empty");
}

std::string WordList::pair(std::size_t index) const {
  return adjectives_[index / nouns_.size()] + "-" + nouns_[index % nouns_.size()];
}

std::string random_number(Rng& rng, int digits) {
  std::int64_t low = 1;
  for (int i = 1; i < digits; ++i) low *= 10;
  return std::to_string(rng.between(low, low * 10 - 1));
}

// Python's uuid.UUID(int=getrandbits(128), version=4): 128 random bits, then the version nibble set
// to 4 and the two variant bits to binary 10.
std::string random_uuid(Rng& rng) {
  std::uint64_t high = rng.next(), low = rng.next();
  high = (high & ~0xf000ULL) | 0x4000ULL;
  low = (low & ~(0xc000ULL << 48)) | (0x8000ULL << 48);
  return fmt::format("{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", high >> 32, (high >> 16) & 0xffff, high & 0xffff,
                     low >> 48, low & 0xffffffffffffULL);
}

std::string random_value(ValueKind kind, Rng& rng, const WordList& words) {
  switch (kind) {
    case ValueKind::Numbers: return random_number(rng);
    case ValueKind::Words: return words.random_pair(rng);
    case ValueKind::Uuids: return random_uuid(rng);
  }
  return random_number(rng);
}

}  // namespace qk::niah
