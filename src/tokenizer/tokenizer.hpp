// Hugging Face tokenizer.json in C++: the models, pre-tokenizers, normalizers and decoders used by
// the GPT-2 / Qwen / Llama-3 (byte-level BPE) and Llama-2 / Mistral / Gemma (SentencePiece BPE with
// byte fallback) families, with added and special tokens. Token ids match the `tokenizers` library.
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace qk {

class Tokenizer {
 public:
  // Parses tokenizer.json; throws qk::Error(Format|Unsupported) naming the file and the field.
  static Tokenizer from_file(const std::filesystem::path& tokenizer_json);
  static Tokenizer from_json_text(std::string_view json_text, const std::string& label = "tokenizer.json");

  // add_special_tokens applies the post-processor (e.g. a BOS token), as tokenizers' encode does.
  std::vector<std::int32_t> encode(std::string_view text, bool add_special_tokens = false) const;
  std::string decode(std::span<const std::int32_t> ids, bool skip_special_tokens = false) const;

  std::size_t vocab_size() const;  // including added tokens
  std::optional<std::int32_t> token_to_id(std::string_view token) const;
  std::optional<std::string> id_to_token(std::int32_t id) const;

  struct Impl;

 private:
  explicit Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

}  // namespace qk
