#include "tokenizer/pre_tokenizers.hpp"

#include <algorithm>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "tokenizer/byte_level.hpp"
#include "tokenizer/regex.hpp"
#include "tokenizer/utf8.hpp"
#include "util/error.hpp"
#include "util/json.hpp"

namespace qk::tok {

const char* const kGpt2SplitRegex = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

namespace {

// Cuts `piece` at the ranges that `for_each_match` reports and hands the kept parts to `sink`.
// Isolated and Removed (the common cases) stream; the merging behaviors go through split_ranges.
void split_piece(PieceView piece, FunctionRef<void(std::string_view, FunctionRef<void(ByteRange)>)> for_each_match,
                 bool invert, SplitBehavior behavior, PieceSink sink) {
  std::string_view text = piece.text;
  auto emit = [&](std::size_t begin, std::size_t end) {
    if (begin < end) sink({text.substr(begin, end - begin), piece.at_text_start && begin == 0});
  };
  if (!invert && (behavior == SplitBehavior::Isolated || behavior == SplitBehavior::Removed)) {
    std::size_t previous = 0;
    for_each_match(text, [&](ByteRange m) {
      emit(previous, m.first);
      if (behavior == SplitBehavior::Isolated) emit(m.first, m.second);
      previous = m.second;
    });
    emit(previous, text.size());
    return;
  }
  std::vector<ByteRange> matches;
  for_each_match(text, [&](ByteRange m) { matches.push_back(m); });
  for (const ByteRange& r : split_ranges(text.size(), matches, invert, behavior)) emit(r.first, r.second);
}

// Each character for which `predicate` holds is one match.
template <typename Predicate>
void for_each_char(std::string_view text, Predicate predicate, FunctionRef<void(ByteRange)> on_match) {
  for (std::size_t pos = 0; pos < text.size();) {
    std::size_t start = pos;
    if (predicate(next_code_point(text, pos))) on_match({start, pos});
  }
}

class ByteLevel : public PreTokenizer {
 public:
  ByteLevel(bool add_prefix_space, bool use_regex, const std::string& where) : add_prefix_space_(add_prefix_space) {
    if (use_regex) regex_.emplace(kGpt2SplitRegex, where);
  }
  void pre_tokenize(PieceView piece, PieceSink sink) const override {
    std::string prefixed;
    if (add_prefix_space_ && (piece.text.empty() || piece.text[0] != ' ')) {
      prefixed.reserve(piece.text.size() + 1);
      prefixed += ' ';
      prefixed += piece.text;
      piece.text = prefixed;
    }
    std::string mapped;
    auto map_and_emit = [&](PieceView p) {
      mapped.clear();
      ByteLevelMap::get().encode(p.text, mapped);
      sink({mapped, p.at_text_start});
    };
    if (!regex_) {
      if (!piece.text.empty()) map_and_emit(piece);
      return;
    }
    split_piece(
        piece, [&](std::string_view t, FunctionRef<void(ByteRange)> on) { regex_->for_each_match(t, on); }, false,
        SplitBehavior::Isolated, map_and_emit);
  }

 private:
  bool add_prefix_space_;
  std::optional<Regex> regex_;
};

class Split : public PreTokenizer {
 public:
  Split(const nlohmann::json& config, const std::string& where)
      : pattern_(Pattern::from_json(config, where)),
        behavior_(parse_split_behavior(string_field(config, "behavior", where), where)),
        invert_(bool_field(config, "invert", where, false)) {}
  void pre_tokenize(PieceView piece, PieceSink sink) const override {
    split_piece(
        piece, [&](std::string_view t, FunctionRef<void(ByteRange)> on) { pattern_.for_each_match(t, on); }, invert_,
        behavior_, sink);
  }

 private:
  Pattern pattern_;
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
  void pre_tokenize(PieceView piece, PieceSink sink) const override {
    std::string replaced;
    replaced.reserve(piece.text.size() + 8);
    for (char c : piece.text) {
      if (c == ' ') replaced += replacement_;
      else replaced += c;
    }
    bool starts_with_replacement = replaced.compare(0, replacement_.size(), replacement_) == 0;
    if (!starts_with_replacement &&
        (prepend_ == Prepend::Always || (prepend_ == Prepend::First && piece.at_text_start)))
      replaced.insert(0, replacement_);
    PieceView out{replaced, piece.at_text_start};
    if (!split_) {
      if (!replaced.empty()) sink(out);
      return;
    }
    split_piece(
        out,
        [&](std::string_view t, FunctionRef<void(ByteRange)> on) {
          for (std::size_t at = t.find(replacement_); at != std::string_view::npos;
               at = t.find(replacement_, at + replacement_.size()))
            on({at, at + replacement_.size()});
        },
        false, SplitBehavior::MergedWithNext, sink);
  }

 private:
  std::string replacement_;
  Prepend prepend_;
  bool split_;
};

class Digits : public PreTokenizer {
 public:
  explicit Digits(bool individual) : individual_(individual) {}
  void pre_tokenize(PieceView piece, PieceSink sink) const override {
    split_piece(
        piece, [](std::string_view t, FunctionRef<void(ByteRange)> on) { for_each_char(t, is_rust_numeric, on); },
        false, individual_ ? SplitBehavior::Isolated : SplitBehavior::Contiguous, sink);
  }

 private:
  bool individual_;
};

class WhitespaceSplit : public PreTokenizer {
 public:
  void pre_tokenize(PieceView piece, PieceSink sink) const override {
    split_piece(
        piece, [](std::string_view t, FunctionRef<void(ByteRange)> on) { for_each_char(t, is_rust_whitespace, on); },
        false, SplitBehavior::Removed, sink);
  }
};

class SequencePreTokenizer : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> steps) : steps_(std::move(steps)) {}
  void pre_tokenize(PieceView piece, PieceSink sink) const override { run(0, piece, sink); }

 private:
  void run(std::size_t step, PieceView piece, PieceSink sink) const {
    if (step == steps_.size()) {
      sink(piece);
      return;
    }
    steps_[step]->pre_tokenize(piece, [&](PieceView sub) { run(step + 1, sub, sink); });
  }
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
  return bool_field(config, "add_prefix_space", where, true) ? Metaspace::Prepend::Always : Metaspace::Prepend::Never;
}

std::unique_ptr<PreTokenizer> make_metaspace(const nlohmann::json& config, const std::string& where) {
  std::string replacement = optional_string_field(config, "replacement", where).value_or("\xE2\x96\x81");
  return std::make_unique<Metaspace>(replacement, parse_prepend_scheme(config, where),
                                     bool_field(config, "split", where, true));
}

}  // namespace

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
    return std::make_unique<SequencePreTokenizer>(std::move(steps));
  }
  fail(ErrorKind::Unsupported, "{}: pre_tokenizer type '{}' is not supported (supported: ByteLevel, Split, "
       "Metaspace, Digits, WhitespaceSplit, Sequence)", where, type);
}

SplitBehavior parse_split_behavior(std::string_view name, const std::string& where) {
  if (name == "Removed") return SplitBehavior::Removed;
  if (name == "Isolated") return SplitBehavior::Isolated;
  if (name == "MergedWithPrevious") return SplitBehavior::MergedWithPrevious;
  if (name == "MergedWithNext") return SplitBehavior::MergedWithNext;
  if (name == "Contiguous") return SplitBehavior::Contiguous;
  fail(ErrorKind::Unsupported, "{}: split behavior '{}' is not supported", where, name);
}

std::vector<ByteRange> split_ranges(std::size_t length, const std::vector<ByteRange>& matches, bool invert,
                                    SplitBehavior behavior) {
  struct Part {
    ByteRange range;
    bool is_match;
  };
  // The whole string as alternating gaps and matches (tokenizers' Pattern::find_matches).
  std::vector<Part> parts;
  parts.reserve(matches.size() * 2 + 1);
  std::size_t previous = 0;
  for (const ByteRange& m : matches) {
    if (previous != m.first) parts.push_back({{previous, m.first}, invert});
    parts.push_back({m, !invert});
    previous = m.second;
  }
  if (previous != length || parts.empty()) parts.push_back({{previous, length}, invert});

  std::vector<ByteRange> pieces;
  pieces.reserve(parts.size());
  bool previous_match = false;
  switch (behavior) {
    case SplitBehavior::Removed:
      for (const Part& p : parts)
        if (!p.is_match) pieces.push_back(p.range);
      break;
    case SplitBehavior::Isolated:
      for (const Part& p : parts) pieces.push_back(p.range);
      break;
    case SplitBehavior::MergedWithPrevious:
      for (const Part& p : parts) {
        if (p.is_match && !previous_match && !pieces.empty()) pieces.back().second = p.range.second;
        else pieces.push_back(p.range);
        previous_match = p.is_match;
      }
      break;
    case SplitBehavior::MergedWithNext:
      // Walk backwards so that a match joins the piece after it.
      for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
        if (it->is_match && !previous_match && !pieces.empty()) pieces.back().first = it->range.first;
        else pieces.push_back(it->range);
        previous_match = it->is_match;
      }
      std::reverse(pieces.begin(), pieces.end());
      break;
    case SplitBehavior::Contiguous:
      for (std::size_t i = 0; i < parts.size(); ++i) {
        if (i > 0 && parts[i].is_match == previous_match) pieces.back().second = parts[i].range.second;
        else pieces.push_back(parts[i].range);
        previous_match = parts[i].is_match;
      }
      break;
  }
  std::erase_if(pieces, [](const ByteRange& r) { return r.first >= r.second; });
  return pieces;
}

}  // namespace qk::tok
