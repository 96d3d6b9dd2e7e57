#include "tokenizer/regex.hpp"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <nlohmann/json.hpp>

#include "tokenizer/fast_split.hpp"
#include "tokenizer/utf8.hpp"
#include "util/error.hpp"
#include "util/json.hpp"

namespace qk::tok {

struct Regex::Compiled {
  pcre2_code* code = nullptr;
  bool jit = false;
  ~Compiled() { pcre2_code_free(code); }
};

namespace {

// One match-data block and one JIT stack per thread, shared by all patterns: encode() stays const and
// thread-safe without allocating per call.
struct ThreadMatchState {
  pcre2_match_data* data = pcre2_match_data_create(1, nullptr);
  pcre2_jit_stack* jit_stack = pcre2_jit_stack_create(32 * 1024, 8 * 1024 * 1024, nullptr);
  pcre2_match_context* context = pcre2_match_context_create(nullptr);
  ThreadMatchState() { pcre2_jit_stack_assign(context, nullptr, jit_stack); }
  ~ThreadMatchState() {
    pcre2_match_context_free(context);
    pcre2_jit_stack_free(jit_stack);
    pcre2_match_data_free(data);
  }
};

ThreadMatchState& thread_state() {
  thread_local ThreadMatchState state;
  return state;
}

}  // namespace

std::string Regex::translate_onig(std::string_view p) {
  std::string out;
  out.reserve(p.size() + 16);
  int class_depth = 0;
  for (std::size_t i = 0; i < p.size(); ++i) {
    char c = p[i];
    if (c == '\\' && i + 1 < p.size()) {
      char e = p[i + 1];
      ++i;
      if (e == 's') {
        out += class_depth > 0 ? "\\s\\x{85}" : "[\\s\\x{85}]";
      } else if (e == 'S' && class_depth == 0) {
        out += "[^\\s\\x{85}]";
      } else {
        out += '\\';
        out += e;
      }
      continue;
    }
    if (c == '[') ++class_depth;
    if (c == ']' && class_depth > 0) --class_depth;
    out += c;
  }
  return out;
}

Regex::Regex(std::string_view onig_pattern, const std::string& where, bool allow_fast_path) {
  if (allow_fast_path) fast_path_ = static_cast<int>(fast_split_for(onig_pattern));
  std::string pattern = translate_onig(onig_pattern);
  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   PCRE2_UTF | PCRE2_UCP, &error_code, &error_offset, nullptr);
  if (!code) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error_code, message, sizeof message);
    fail(ErrorKind::Unsupported, "{}: regex /{}/ does not compile with PCRE2 at offset {}: {}", where,
         onig_pattern, error_offset, reinterpret_cast<const char*>(message));
  }
  auto compiled = std::make_shared<Compiled>();
  compiled->code = code;
  compiled->jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;  // else the interpreter runs it
  compiled_ = std::move(compiled);
}

void Regex::find_all(std::string_view text, std::vector<ByteRange>& matches) const {
  for_each_match(text, [&](ByteRange m) { matches.push_back(m); });
}

void Regex::for_each_match(std::string_view text, FunctionRef<void(ByteRange)> on_match) const {
  if (fast_path_ != 0) {
    fast_split(static_cast<FastSplit>(fast_path_), text, on_match);
    return;
  }
  ThreadMatchState& state = thread_state();
  auto subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  std::size_t search_from = 0;
  bool have_last_end = false;
  std::size_t last_end = 0;
  while (search_from <= text.size()) {
    // pcre2_jit_match skips pcre2_match's argument checks: it matters at one call per word.
    int rc = compiled_->jit ? pcre2_jit_match(compiled_->code, subject, text.size(), search_from, 0, state.data, state.context)
                            : pcre2_match(compiled_->code, subject, text.size(), search_from, PCRE2_NO_UTF_CHECK,
                                          state.data, state.context);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT) {
      rc = pcre2_match(compiled_->code, subject, text.size(), search_from, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT,
                       state.data, state.context);
    }
    if (rc == PCRE2_ERROR_NOMATCH) return;
    if (rc < 0) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(rc, message, sizeof message);
      fail(ErrorKind::Unsupported, "regex match failed: {}", reinterpret_cast<const char*>(message));
    }
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(state.data);
    std::size_t start = ovector[0], end = ovector[1];
    if (start == end && have_last_end && last_end == end) {
      // Empty match glued to the previous one: step over one character and search again.
      if (search_from >= text.size()) return;
      search_from += utf8_sequence_length(static_cast<unsigned char>(text[search_from]));
      continue;
    }
    on_match({start, end});
    search_from = end;
    last_end = end;
    have_last_end = true;
  }
}

Pattern Pattern::from_json(const nlohmann::json& config, const std::string& where) {
  const auto& pattern = object_field(config, "pattern", where);
  Pattern result;
  if (pattern.contains("String")) {
    result.literal_ = string_field(pattern, "String", where + " pattern");
  } else if (pattern.contains("Regex")) {
    result.regex_.emplace(string_field(pattern, "Regex", where + " pattern"), where + " pattern");
  } else {
    fail(ErrorKind::Format, "{}: pattern must hold \"String\" or \"Regex\"", where);
  }
  return result;
}

void Pattern::find_all(std::string_view text, std::vector<ByteRange>& matches) const {
  for_each_match(text, [&](ByteRange m) { matches.push_back(m); });
}

void Pattern::for_each_match(std::string_view text, FunctionRef<void(ByteRange)> on_match) const {
  if (regex_) {
    regex_->for_each_match(text, on_match);
    return;
  }
  if (literal_.empty()) return;
  for (std::size_t at = text.find(literal_); at != std::string_view::npos; at = text.find(literal_, at + literal_.size()))
    on_match({at, at + literal_.size()});
}

std::string Pattern::replace_all(std::string_view text, std::string_view content) const {
  std::vector<ByteRange> matches;
  find_all(text, matches);
  if (matches.empty()) return std::string(text);
  std::string out;
  out.reserve(text.size() + matches.size() * content.size());
  std::size_t previous = 0;
  for (const ByteRange& m : matches) {
    out.append(text.substr(previous, m.first - previous));
    out.append(content);
    previous = m.second;
  }
  out.append(text.substr(previous));
  return out;
}

}  // namespace qk::tok
