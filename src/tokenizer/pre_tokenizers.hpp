// tokenizer.json "pre_tokenizer": ByteLevel, Split, Metaspace, Digits, WhitespaceSplit, Sequence.
// A pre-tokenizer cuts text into the pieces ("words") that the BPE model encodes one at a time.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace qk::tok {

struct Piece {
  std::string text;
  bool at_text_start = false;  // begins at offset 0 of the original text (Metaspace prepend_scheme "first")
};

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Replaces `pieces` by their sub-pieces, in order; empty pieces are dropped.
  virtual void pre_tokenize(std::vector<Piece>& pieces) const = 0;
};

// nullptr for JSON null. `where` names the file.
std::unique_ptr<PreTokenizer> make_pre_tokenizer(const nlohmann::json& config, const std::string& where);

// The regex of GPT-2 that ByteLevel(use_regex = true) splits with.
extern const char* const kGpt2SplitRegex;

}  // namespace qk::tok
