// The random keys and values that needles carry, as RULER draws them (scripts/data/synthetic/niah.py):
// words are hyphenated adjective-noun pairs, numbers have 7 digits, uuids are UUIDv4 strings.
#pragma once
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "niah/random.hpp"

namespace qk::niah {

enum class ValueKind { Numbers, Words, Uuids };

ValueKind parse_value_kind(std::string_view name);  // "numbers" | "words" | "uuids"
std::string_view value_kind_name(ValueKind kind);   // plural, as it appears in the prompt

// Adjective and noun lists (one word a line); RULER's key space is their full cross product.
class WordList {
 public:
  static WordList load(const std::filesystem::path& adjectives, const std::filesystem::path& nouns);
  WordList(std::vector<std::string> adjectives, std::vector<std::string> nouns);

  std::size_t size() const { return adjectives_.size() * nouns_.size(); }
  std::string pair(std::size_t index) const;  // index in [0, size()): adjective-major order
  std::string random_pair(Rng& rng) const { return pair(rng.below(size())); }

 private:
  std::vector<std::string> adjectives_, nouns_;
};

std::string random_number(Rng& rng, int digits = 7);  // uniform in [10^(digits-1), 10^digits - 1]
std::string random_uuid(Rng& rng);                    // RFC 4122 version 4, lowercase
std::string random_value(ValueKind kind, Rng& rng, const WordList& words);

}  // namespace qk::niah
