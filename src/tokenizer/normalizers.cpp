#include "tokenizer/normalizers.hpp"

#include <algorithm>
#include <vector>

#include <nlohmann/json.hpp>
#include <unicode/bytestream.h>
#include <unicode/normalizer2.h>
#include <unicode/ustring.h>

#include "util/json.hpp"
#include "tokenizer/regex.hpp"
#include "tokenizer/utf8.hpp"
#include "util/error.hpp"

namespace qk::tok {
namespace {

bool is_ascii(const std::string& text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// Unicode normalization forms through ICU's UTF-8 API. ASCII is invariant under all four forms.
class UnicodeForm : public Normalizer {
 public:
  enum Form { NFC, NFD, NFKC, NFKD };
  UnicodeForm(Form form, const std::string& where) {
    UErrorCode status = U_ZERO_ERROR;
    switch (form) {
      case NFC: icu_ = icu::Normalizer2::getNFCInstance(status); break;
      case NFD: icu_ = icu::Normalizer2::getNFDInstance(status); break;
      case NFKC: icu_ = icu::Normalizer2::getNFKCInstance(status); break;
      case NFKD: icu_ = icu::Normalizer2::getNFKDInstance(status); break;
    }
    if (U_FAILURE(status)) fail(ErrorKind::Unsupported, "{}: ICU normalizer unavailable: {}", where, u_errorName(status));
  }
  void normalize(std::string& text) const override {
    if (is_ascii(text)) return;
    UErrorCode status = U_ZERO_ERROR;
    if (icu_->isNormalizedUTF8(text, status) && U_SUCCESS(status)) return;
    status = U_ZERO_ERROR;
    std::string out;
    icu::StringByteSink<std::string> sink(&out, static_cast<int32_t>(text.size()));
    icu_->normalizeUTF8(0, text, sink, nullptr, status);
    if (U_FAILURE(status)) fail(ErrorKind::Format, "Unicode normalization failed: {}", u_errorName(status));
    text = std::move(out);
  }

 private:
  const icu::Normalizer2* icu_ = nullptr;
};

// Rust's char::to_lowercase applied one character at a time (no final-sigma context), which is what
// NormalizedString::lowercase does; ICU's full lowercase of a lone code point gives the same mapping.
class Lowercase : public Normalizer {
 public:
  void normalize(std::string& text) const override {
    std::string out;
    out.reserve(text.size());
    for (std::size_t pos = 0; pos < text.size();) {
      char32_t c = next_code_point(text, pos);
      if (c < 0x80) {
        out += static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
        continue;
      }
      UChar source[2];
      int32_t source_length = 0;
      U16_APPEND_UNSAFE(source, source_length, static_cast<UChar32>(c));
      UChar lower[8];
      UErrorCode status = U_ZERO_ERROR;
      int32_t lower_length = u_strToLower(lower, 8, source, source_length, "", &status);
      if (U_FAILURE(status)) {
        append_utf8(out, c);
        continue;
      }
      for (int32_t i = 0; i < lower_length;) {
        UChar32 l;
        U16_NEXT(lower, i, lower_length, l);
        append_utf8(out, static_cast<char32_t>(l));
      }
    }
    text = std::move(out);
  }
};

// Replaces every match of a literal string or a regex with `content`.
class Replace : public Normalizer {
 public:
  Replace(const nlohmann::json& config, const std::string& where)
      : pattern_(Pattern::from_json(config, where)), content_(string_field(config, "content", where)) {}
  void normalize(std::string& text) const override { text = pattern_.replace_all(text, content_); }

 private:
  Pattern pattern_;
  std::string content_;
};

class Prepend : public Normalizer {
 public:
  explicit Prepend(std::string prefix) : prefix_(std::move(prefix)) {}
  void normalize(std::string& text) const override {
    if (!text.empty()) text.insert(0, prefix_);
  }

 private:
  std::string prefix_;
};

// Strips Unicode whitespace (char::is_whitespace) from the left and/or right end.
class Strip : public Normalizer {
 public:
  Strip(bool left, bool right) : left_(left), right_(right) {}
  void normalize(std::string& text) const override {
    std::size_t begin = 0, end = text.size();
    if (left_) {
      while (begin < end) {
        std::size_t next = begin;
        if (!is_rust_whitespace(next_code_point(text, next))) break;
        begin = next;
      }
    }
    if (right_) {
      while (end > begin) {
        char32_t c = last_code_point(text, end);
        if (!is_rust_whitespace(c)) break;
        std::string tmp;
        append_utf8(tmp, c);
        end -= tmp.size();
      }
    }
    text = text.substr(begin, end - begin);
  }

 private:
  bool left_, right_;
};

class SequenceNormalizer : public Normalizer {
 public:
  explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> steps) : steps_(std::move(steps)) {}
  void normalize(std::string& text) const override {
    for (const auto& step : steps_) step->normalize(text);
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> steps_;
};

}  // namespace

std::unique_ptr<Normalizer> make_normalizer(const nlohmann::json& config, const std::string& where) {
  if (config.is_null()) return nullptr;
  std::string type = string_field(config, "type", where);
  std::string here = where + " normalizer " + type;
  if (type == "NFC") return std::make_unique<UnicodeForm>(UnicodeForm::NFC, here);
  if (type == "NFD") return std::make_unique<UnicodeForm>(UnicodeForm::NFD, here);
  if (type == "NFKC") return std::make_unique<UnicodeForm>(UnicodeForm::NFKC, here);
  if (type == "NFKD") return std::make_unique<UnicodeForm>(UnicodeForm::NFKD, here);
  if (type == "Lowercase") return std::make_unique<Lowercase>();
  if (type == "Replace") return std::make_unique<Replace>(config, here);
  if (type == "Prepend") return std::make_unique<Prepend>(string_field(config, "prepend", here));
  if (type == "Strip")
    return std::make_unique<Strip>(bool_field(config, "strip_left", here, true),
                                   bool_field(config, "strip_right", here, true));
  if (type == "Sequence") {
    std::vector<std::unique_ptr<Normalizer>> steps;
    for (const auto& step : array_field(config, "normalizers", here)) {
      if (auto n = make_normalizer(step, where)) steps.push_back(std::move(n));
    }
    return std::make_unique<SequenceNormalizer>(std::move(steps));
  }
  fail(ErrorKind::Unsupported, "{}: normalizer type '{}' is not supported (supported: NFC, NFD, NFKC, NFKD, "
       "Lowercase, Replace, Prepend, Strip, Sequence)", where, type);
}

}  // namespace qk::tok
