// Sizing needs only "how many tokens is this text": the generator depends on this small interface,
// and the real model tokenizer (src/tokenizer) is one implementation of it.
#pragma once
#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace qk::niah {

class TokenCounter {
 public:
  virtual ~TokenCounter() = default;
  // Tokens of `text` without special tokens added (RULER: tokenizer.tokenize(text)); thread-safe.
  virtual std::size_t count(std::string_view text) const = 0;
  virtual std::string describe() const = 0;  // for logs and the JSONL provenance
};

// Loads tokenizer.json from a file, or from a model directory holding one.
std::unique_ptr<TokenCounter> load_tokenizer_counter(const std::filesystem::path& file_or_dir);

}  // namespace qk::niah
