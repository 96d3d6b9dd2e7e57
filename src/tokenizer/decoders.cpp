#include "tokenizer/decoders.hpp"

#include <nlohmann/json.hpp>

#include "tokenizer/byte_level.hpp"
#include "util/json.hpp"
#include "tokenizer/regex.hpp"
#include "tokenizer/utf8.hpp"
#include "util/error.hpp"

namespace qk::tok {
namespace {

// Characters back to bytes; a token with any character outside the byte map keeps its own UTF-8.
// The concatenated bytes are then read as UTF-8 with invalid parts replaced (from_utf8_lossy).
class ByteLevelDecoder : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    const ByteLevelMap& map = ByteLevelMap::get();
    std::string bytes;
    std::string token_bytes;
    for (const std::string& token : tokens) {
      token_bytes.clear();
      bool all_mapped = true;
      for (std::size_t pos = 0; pos < token.size() && all_mapped;) {
        auto byte = map.byte_of(next_code_point(token, pos));
        if (byte) token_bytes += static_cast<char>(*byte);
        else all_mapped = false;
      }
      bytes += all_mapped ? token_bytes : token;
    }
    tokens.assign(1, utf8_lossy(bytes));
  }
};

// Tokens "<0xNN>" are raw bytes; runs of them become text when they form valid UTF-8, else one
// U+FFFD per byte.
class ByteFallbackDecoder : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::vector<std::string> out;
    std::string pending;
    auto flush = [&] {
      if (pending.empty()) return;
      if (is_valid_utf8(pending)) out.push_back(pending);
      else
        for (std::size_t i = 0; i < pending.size(); ++i) out.emplace_back("\xEF\xBF\xBD");
      pending.clear();
    };
    for (std::string& token : tokens) {
      if (auto byte = parse_byte_token(token)) {
        pending += static_cast<char>(*byte);
      } else {
        flush();
        out.push_back(std::move(token));
      }
    }
    flush();
    tokens = std::move(out);
  }

 private:
  static std::optional<unsigned char> parse_byte_token(const std::string& t) {
    if (t.size() != 6 || t.compare(0, 3, "<0x") != 0 || t[5] != '>') return std::nullopt;
    auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      return -1;
    };
    int hi = hex(t[3]), lo = hex(t[4]);
    if (hi < 0 || lo < 0) return std::nullopt;
    return static_cast<unsigned char>(hi * 16 + lo);
  }
};

class FuseDecoder : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::string joined;
    for (const auto& t : tokens) joined += t;
    tokens.assign(1, std::move(joined));
  }
};

class ReplaceDecoder : public Decoder {
 public:
  ReplaceDecoder(const nlohmann::json& config, const std::string& where)
      : pattern_(Pattern::from_json(config, where)), content_(string_field(config, "content", where)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (auto& t : tokens) t = pattern_.replace_all(t, content_);
  }

 private:
  Pattern pattern_;
  std::string content_;
};

// Removes up to `start` leading and `stop` trailing copies of the character `content` from each token.
class StripDecoder : public Decoder {
 public:
  StripDecoder(char32_t content, std::size_t start, std::size_t stop) : content_(content), start_(start), stop_(stop) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (auto& t : tokens) {
      std::vector<char32_t> chars;
      for (std::size_t pos = 0; pos < t.size();) chars.push_back(next_code_point(t, pos));
      std::size_t begin = 0, end = chars.size();
      while (begin < start_ && begin < chars.size() && chars[begin] == content_) ++begin;
      for (std::size_t i = 0; i < stop_ && end > begin && chars[end - 1] == content_; ++i) --end;
      std::string out;
      for (std::size_t i = begin; i < end; ++i) append_utf8(out, chars[i]);
      t = std::move(out);
    }
  }

 private:
  char32_t content_;
  std::size_t start_, stop_;
};

// Replacement characters back to spaces; in the first token they are dropped unless the scheme is "never".
class MetaspaceDecoder : public Decoder {
 public:
  MetaspaceDecoder(char32_t replacement, bool strip_first) : replacement_(replacement), strip_first_(strip_first) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      std::string out;
      const std::string& t = tokens[i];
      for (std::size_t pos = 0; pos < t.size();) {
        char32_t c = next_code_point(t, pos);
        if (c != replacement_) append_utf8(out, c);
        else if (!(i == 0 && strip_first_)) out += ' ';  // tokenizers drops every one in the first token
      }
      tokens[i] = std::move(out);
    }
  }

 private:
  char32_t replacement_;
  bool strip_first_;
};

class SequenceDecoder : public Decoder {
 public:
  explicit SequenceDecoder(std::vector<std::unique_ptr<Decoder>> steps) : steps_(std::move(steps)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (const auto& step : steps_) step->decode_chain(tokens);
  }

 private:
  std::vector<std::unique_ptr<Decoder>> steps_;
};

char32_t single_char(const std::string& s, const std::string& field, const std::string& where) {
  std::size_t pos = 0;
  if (s.empty()) fail(ErrorKind::Format, "{}: '{}' must be one character", where, field);
  char32_t c = next_code_point(s, pos);
  if (pos != s.size()) fail(ErrorKind::Format, "{}: '{}' must be one character, got \"{}\"", where, field, s);
  return c;
}

}  // namespace

std::unique_ptr<Decoder> make_decoder(const nlohmann::json& config, const std::string& where) {
  if (config.is_null()) return nullptr;
  std::string type = string_field(config, "type", where);
  std::string here = where + " decoder " + type;
  if (type == "ByteLevel") return std::make_unique<ByteLevelDecoder>();
  if (type == "ByteFallback") return std::make_unique<ByteFallbackDecoder>();
  if (type == "Fuse") return std::make_unique<FuseDecoder>();
  if (type == "Replace") return std::make_unique<ReplaceDecoder>(config, here);
  if (type == "Strip") {
    return std::make_unique<StripDecoder>(single_char(string_field(config, "content", here), "content", here),
                                          field<std::size_t>(config, "start", here),
                                          field<std::size_t>(config, "stop", here));
  }
  if (type == "Metaspace") {
    std::string replacement = optional_string_field(config, "replacement", here).value_or("\xE2\x96\x81");
    bool strip_first;
    if (auto scheme = optional_string_field(config, "prepend_scheme", here)) strip_first = *scheme != "never";
    else strip_first = bool_field(config, "add_prefix_space", here, true);
    return std::make_unique<MetaspaceDecoder>(single_char(replacement, "replacement", here), strip_first);
  }
  if (type == "Sequence") {
    std::vector<std::unique_ptr<Decoder>> steps;
    for (const auto& step : array_field(config, "decoders", here)) {
      if (auto d = make_decoder(step, where)) steps.push_back(std::move(d));
    }
    return std::make_unique<SequenceDecoder>(std::move(steps));
  }
  fail(ErrorKind::Unsupported, "{}: decoder type '{}' is not supported (supported: ByteLevel, ByteFallback, "
       "Fuse, Replace, Strip, Metaspace, Sequence)", where, type);
}

}  // namespace qk::tok
