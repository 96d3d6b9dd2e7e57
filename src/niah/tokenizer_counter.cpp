// The model's own tokenizer as a TokenCounter.
#include "niah/token_counter.hpp"
#include "tokenizer/tokenizer.hpp"
#include "util/error.hpp"

namespace qk::niah {

namespace {
class TokenizerCounter final : public TokenCounter {
 public:
  TokenizerCounter(Tokenizer tokenizer, std::string label) : tokenizer_(std::move(tokenizer)), label_(std::move(label)) {}
  std::size_t count(std::string_view text) const override { return tokenizer_.encode(text, false).size(); }
  std::string describe() const override { return label_; }

 private:
  Tokenizer tokenizer_;
  std::string label_;
};
}  // namespace

std::unique_ptr<TokenCounter> load_tokenizer_counter(const std::filesystem::path& file_or_dir) {
  std::filesystem::path file = file_or_dir;
  if (std::filesystem::is_directory(file)) file /= "tokenizer.json";
  if (!std::filesystem::exists(file)) fail(ErrorKind::Io, "tokenizer file {} does not exist", file.string());
  return std::make_unique<TokenizerCounter>(Tokenizer::from_file(file), file.string());
}

}  // namespace qk::niah
