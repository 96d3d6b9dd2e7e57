// The encode / decode pipeline of tokenizers' TokenizerImpl, over the components of this folder:
// added tokens -> normalizer -> pre-tokenizer -> BPE model -> post-processor; decode via the decoder.
#include "tokenizer/tokenizer.hpp"


#include <nlohmann/json.hpp>

#include "tokenizer/added_vocabulary.hpp"
#include "tokenizer/bpe_model.hpp"
#include "tokenizer/decoders.hpp"
#include "tokenizer/normalizers.hpp"
#include "tokenizer/post_processor.hpp"
#include "tokenizer/pre_tokenizers.hpp"
#include "tokenizer/utf8.hpp"
#include "util/error.hpp"
#include "util/json.hpp"
#include "util/files.hpp"

namespace qk {

struct Tokenizer::Impl {
  std::string label;
  std::unique_ptr<tok::Normalizer> normalizer;
  std::unique_ptr<tok::PreTokenizer> pre_tokenizer;
  tok::BpeModel model;
  std::unique_ptr<tok::PostProcessor> post_processor;
  std::unique_ptr<tok::Decoder> decoder;
  tok::AddedVocabulary added;
  std::size_t vocab_size = 0;

  explicit Impl(tok::BpeModel m) : model(std::move(m)) {}

  // Pre-tokenizes one stretch of text between added tokens and runs the model on each piece.
  void encode_stretch(std::string_view text, bool at_text_start, std::vector<std::int32_t>& ids) const {
    if (!pre_tokenizer) {
      model.tokenize(text, ids);
      return;
    }
    pre_tokenizer->pre_tokenize({text, at_text_start}, [&](tok::PieceView piece) { model.tokenize(piece.text, ids); });
  }
};

Tokenizer Tokenizer::from_file(const std::filesystem::path& tokenizer_json) {
  // A model directory stands for the tokenizer.json inside it.
  std::filesystem::path path = tokenizer_json;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) path /= "tokenizer.json";
  return from_json_text(read_text_file(path), path.string());
}

Tokenizer Tokenizer::from_json_text(std::string_view json_text, const std::string& label) {
  const nlohmann::json root = parse_json(json_text, label, DuplicateKeys::LastWins);
  if (!root.is_object()) fail(ErrorKind::Format, "{}: top level must be a JSON object", label);
  if (!root.contains("model")) fail(ErrorKind::Format, "{}: missing field 'model'", label);
  auto field = [&](const char* key) -> const nlohmann::json& {
    static const nlohmann::json null_value;
    auto it = root.find(key);
    return it == root.end() ? null_value : *it;
  };

  auto impl = std::make_shared<Impl>(tok::BpeModel::from_json(root["model"], label));
  impl->label = label;
  impl->normalizer = tok::make_normalizer(field("normalizer"), label);
  impl->pre_tokenizer = tok::make_pre_tokenizer(field("pre_tokenizer"), label);
  impl->post_processor = tok::make_post_processor(field("post_processor"), label);
  impl->decoder = tok::make_decoder(field("decoder"), label);
  impl->added = tok::AddedVocabulary(tok::AddedVocabulary::parse(field("added_tokens"), label), impl->normalizer.get());

  // tokenizers' get_vocab_size(with_added_tokens = true): distinct token strings of model + added.
  impl->vocab_size = impl->model.vocab().size();
  for (const auto& token : impl->added.tokens())
    if (!impl->model.token_to_id(token.content)) ++impl->vocab_size;
  return Tokenizer(std::move(impl));
}

std::vector<std::int32_t> Tokenizer::encode(std::string_view input, bool add_special_tokens) const {
  const Impl& t = *impl_;
  // Invalid UTF-8 is read the way Python would after errors="replace": one U+FFFD per bad subpart.
  std::string repaired;
  std::string_view text = input;
  if (!is_valid_utf8(input)) {
    repaired = utf8_lossy(input);
    text = repaired;
  }
  std::vector<std::int32_t> ids;
  ids.reserve(text.size() / 3 + 4);
  // 1. Tokens that match the raw text; 2. normalize what lies between them; 3. tokens that match the
  // normalized text; 4. pre-tokenize and encode the rest.
  for (const tok::TextSegment& raw : t.added.split(text, false)) {
    if (raw.id >= 0) {
      ids.push_back(raw.id);
      continue;
    }
    if (raw.range.first == raw.range.second) continue;
    std::string_view stretch = text.substr(raw.range.first, raw.range.second - raw.range.first);
    std::string normalized;  // a normalizer's output; without one the stretch is used in place
    if (t.normalizer) {
      normalized = stretch;
      t.normalizer->normalize(normalized);
      stretch = normalized;
    }
    for (const tok::TextSegment& norm : t.added.split(stretch, true)) {
      if (norm.id >= 0) {
        ids.push_back(norm.id);
      } else if (norm.range.first != norm.range.second) {
        bool at_text_start = raw.range.first == 0 && norm.range.first == 0;
        t.encode_stretch(stretch.substr(norm.range.first, norm.range.second - norm.range.first), at_text_start, ids);
      }
    }
  }
  if (add_special_tokens && t.post_processor) t.post_processor->process(ids);
  return ids;
}

std::string Tokenizer::decode(std::span<const std::int32_t> ids, bool skip_special_tokens) const {
  const Impl& t = *impl_;
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (std::int32_t id : ids) {
    // Ids unknown to both vocabularies are skipped, as tokenizers does.
    if (const tok::AddedToken* added = t.added.by_id(id)) {
      if (!(skip_special_tokens && added->special)) tokens.push_back(added->content);
    } else if (const std::string* token = t.model.id_to_token(id)) {
      if (!(skip_special_tokens && t.added.is_special(*token))) tokens.push_back(*token);
    }
  }
  if (!t.decoder) {
    std::string joined;
    for (std::size_t i = 0; i < tokens.size(); ++i) joined += (i ? " " : "") + tokens[i];
    return joined;
  }
  t.decoder->decode_chain(tokens);
  std::string text;
  for (const auto& piece : tokens) text += piece;
  return text;
}

std::size_t Tokenizer::vocab_size() const { return impl_->vocab_size; }

std::optional<std::int32_t> Tokenizer::token_to_id(std::string_view token) const {
  if (const tok::AddedToken* added = impl_->added.by_content(token)) return added->id;
  return impl_->model.token_to_id(token);
}

std::optional<std::string> Tokenizer::id_to_token(std::int32_t id) const {
  if (const tok::AddedToken* added = impl_->added.by_id(id)) return added->content;
  if (const std::string* token = impl_->model.id_to_token(id)) return *token;
  return std::nullopt;
}

}  // namespace qk
