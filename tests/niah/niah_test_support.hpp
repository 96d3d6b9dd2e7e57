// Shared fixtures for the NIAH tests: the shipped word lists and haystack, and a real byte-level BPE
// tokenizer (tests/niah/data/tokenizer.json: the 4096-token tokenizer of repro/, copied so these tests
// do not move when repro/ does).
#pragma once
#include <filesystem>
#include <memory>
#include <string>
#include <unistd.h>

#include "niah/essay_haystack.hpp"
#include "niah/needle_values.hpp"
#include "niah/token_counter.hpp"

namespace qk::niah::testing {

inline std::filesystem::path source_dir() { return QK_SOURCE_DIR; }
inline std::filesystem::path data_dir() { return source_dir() / "data" / "niah"; }
inline std::filesystem::path test_tokenizer_path() { return source_dir() / "tests" / "niah" / "data" / "tokenizer.json"; }

inline const TokenCounter& test_counter() {
  static const auto counter = load_tokenizer_counter(test_tokenizer_path());
  return *counter;
}
inline const WordList& shipped_words() {
  static const WordList words = WordList::load(data_dir() / "adjectives.txt", data_dir() / "nouns.txt");
  return words;
}
inline const EssayHaystack& shipped_essay() {
  static const EssayHaystack essay = EssayHaystack::load(data_dir() / "haystack-kjv.txt");
  return essay;
}

// A fresh empty folder under the build tree's temp area, removed at the start of each use.
inline std::filesystem::path scratch_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("qk-niah-test-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace qk::niah::testing
