#include "tokenizer/pre_tokenizers.hpp"

#include <functional>

#include <nlohmann/json.hpp>

#include "tokenizer/byte_level.hpp"
#include "tokenizer/json_fields.hpp"
#include "tokenizer/split.hpp"
#include "tokenizer/utf8.hpp"
#include "util/error.hpp"

namespace qk::tok {

const char* const kGpt2SplitRegex = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

namespace {

// Cuts every piece at the ranges that `find` reports, keeping what `behavior` keeps.
template <typename FindMatches>
void split_pieces(std::vector<Piece>& pieces, FindMatches&& find, bool invert, SplitBehavior behavior) {
  std::vector<Piece> out;
  out.reserve(pieces.size() * 4);
  std::vector<ByteRange> matches;
  for (Piece& piece : pieces) {
    matches.clear();
    find(piece.text, matches);
    if (matches.empty() && !invert && behavior != SplitBehavior::Removed) {
      out.push_back(std::move(piece));  // nothing to cut (fast path, same result)
      continue;
    }
    for (const ByteRange& r : split_ranges(piece.text.size(), matches, invert, behavior))
      out.push_back({piece.text.substr(r.first, r.second - r.first), piece.at_text_start && r.first == 0});
  }
  pieces = std::move(out);
}

// Each character for which `predicate` holds is one match.
void find_chars(std::string_view text, const std::function<bool(char32_t)>& predicate, std::vector<ByteRange>& out) {
  for (std::size_t pos = 0; pos < text.size();) {
    std::size_t start = pos;
    if (predicate(next_code_point(text, pos))) out.emplace_back(start, pos);
  }
}

class ByteLevel : public PreTokenizer {
 public:
  ByteLevel(bool add_prefix_space, bool use_regex, const std::string& where)
      : add_prefix_space_(add_prefix_space) {
    if (use_regex) regex_.emplace(kGpt2SplitRegex, where);
  }
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    if (add_prefix_space_) {
      for (Piece& p : pieces)
        if (p.text.empty() || p.text[0] != ' ') p.text.insert(0, " ");
    }
    if (regex_) {
      split_pieces(
          pieces, [&](std::string_view text, std::vector<ByteRange>& m) { regex_->find_all(text, m); }, false,
          SplitBehavior::Isolated);
    }
    const ByteLevelMap& map = ByteLevelMap::get();
    std::string mapped;
    for (Piece& p : pieces) {
      mapped.clear();
      map.encode(p.text, mapped);
      p.text.swap(mapped);
    }
  }

 private:
  bool add_prefix_space_;
  std::optional<Regex> regex_;
};

class Split : public PreTokenizer {
 public:
  Split(const nlohmann::json& config, const std::string& where)
      : pattern_(ReplacePattern::from_json(config, where)),
        behavior_(parse_split_behavior(string_field(config, "behavior", where), where)),
        invert_(bool_field(config, "invert", where, false)) {}
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    split_pieces(
        pieces, [&](std::string_view text, std::vector<ByteRange>& m) { pattern_.find_all(text, m); }, invert_,
        behavior_);
  }

 private:
  ReplacePattern pattern_;
  SplitBehavior behavior_;
  bool invert_;
};

// SentencePiece's whitespace handling: spaces become `replacement` (usually "▁"), a replacement is
// prepended per `prepend_scheme`, and with `split` each piece starts at a replacement character.
class Metaspace : public PreTokenizer {
 public:
  enum class Prepend { Always, First, Never };
  Metaspace(std::string replacement, Prepend prepend, bool split)
      : replacement_(std::move(replacement)), prepend_(prepend), split_(split) {}
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    for (Piece& p : pieces) {
      std::string replaced;
      replaced.reserve(p.text.size() + 8);
      for (char c : p.text) {
        if (c == ' ') replaced += replacement_;
        else replaced += c;
      }
      bool starts_with_replacement = replaced.compare(0, replacement_.size(), replacement_) == 0;
      bool prepend = !starts_with_replacement &&
                     (prepend_ == Prepend::Always || (prepend_ == Prepend::First && p.at_text_start));
      if (prepend) replaced.insert(0, replacement_);
      p.text = std::move(replaced);
    }
    if (split_) {
      split_pieces(
          pieces,
          [&](std::string_view text, std::vector<ByteRange>& m) {
            for (std::size_t at = text.find(replacement_); at != std::string_view::npos;
                 at = text.find(replacement_, at + replacement_.size()))
              m.emplace_back(at, at + replacement_.size());
          },
          false, SplitBehavior::MergedWithNext);
    }
  }

 private:
  std::string replacement_;
  Prepend prepend_;
  bool split_;
};

class Digits : public PreTokenizer {
 public:
  explicit Digits(bool individual) : individual_(individual) {}
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    split_pieces(
        pieces, [](std::string_view text, std::vector<ByteRange>& m) { find_chars(text, is_rust_numeric, m); },
        false, individual_ ? SplitBehavior::Isolated : SplitBehavior::Contiguous);
  }

 private:
  bool individual_;
};

class WhitespaceSplit : public PreTokenizer {
 public:
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    split_pieces(
        pieces, [](std::string_view text, std::vector<ByteRange>& m) { find_chars(text, is_rust_whitespace, m); },
        false, SplitBehavior::Removed);
  }
};

class Sequence : public PreTokenizer {
 public:
  explicit Sequence(std::vector<std::unique_ptr<PreTokenizer>> steps) : steps_(std::move(steps)) {}
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    for (const auto& step : steps_) step->pre_tokenize(pieces);
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> steps_;
};

Metaspace::Prepend parse_prepend_scheme(const nlohmann::json& config, const std::string& where) {
  if (auto scheme = optional_string_field(config, "prepend_scheme", where)) {
    if (*scheme == "always") return Metaspace::Prepend::Always;
    if (*scheme == "first") return Metaspace::Prepend::First;
    if (*scheme == "never") return Metaspace::Prepend::Never;
    fail(ErrorKind::Unsupported, "{}: prepend_scheme '{}' is not supported", where, *scheme);
  }
  // Files written before prepend_scheme existed carry add_prefix_space instead.
  return bool_field(config, "add_prefix_space", where, true) ? Metaspace::Prepend::Always
                                                              : Metaspace::Prepend::Never;
}

}  // namespace

static std::unique_ptr<PreTokenizer> make_metaspace(const nlohmann::json& config, const std::string& where) {
  std::string replacement = optional_string_field(config, "replacement", where).value_or("\xE2\x96\x81");
  return std::make_unique<Metaspace>(replacement, parse_prepend_scheme(config, where),
                                     bool_field(config, "split", where, true));
}

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const nlohmann::json& config, const std::string& where) {
  if (config.is_null()) return nullptr;
  std::string type = string_field(config, "type", where);
  std::string here = where + " pre_tokenizer " + type;
  if (type == "ByteLevel")
    return std::make_unique<ByteLevel>(bool_field(config, "add_prefix_space", here, true),
                                       bool_field(config, "use_regex", here, true), here);
  if (type == "Split") return std::make_unique<Split>(config, here);
  if (type == "Metaspace") return make_metaspace(config, here);
  if (type == "Digits") return std::make_unique<Digits>(bool_field(config, "individual_digits", here, false));
  if (type == "WhitespaceSplit") return std::make_unique<WhitespaceSplit>();
  if (type == "Sequence") {
    std::vector<std::unique_ptr<PreTokenizer>> steps;
    for (const auto& step : array_field(config, "pretokenizers", here)) {
      if (auto p = make_pre_tokenizer(step, where)) steps.push_back(std::move(p));
    }
    return std::make_unique<Sequence>(std::move(steps));
  }
  fail(ErrorKind::Unsupported, "{}: pre_tokenizer type '{}' is not supported (supported: ByteLevel, Split, "
       "Metaspace, Digits, WhitespaceSplit, Sequence)", where, type);
}

}  // namespace qk::tok
