// tokenizer.json "pre_tokenizer": ByteLevel, Split, Metaspace, Digits, WhitespaceSplit, Sequence.
// A pre-tokenizer cuts text into the pieces ("words") that the BPE model encodes one at a time. Pieces
// stream to the next stage through a callback, so a long text never becomes a vector of strings.
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "tokenizer/function_ref.hpp"
#include "tokenizer/regex.hpp"  // ByteRange

namespace qk::tok {

struct PieceView {
  std::string_view text;
  bool at_text_start = false;  // begins at offset 0 of the original text (Metaspace prepend_scheme "first")
};
using PieceSink = FunctionRef<void(PieceView)>;

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Hands the non-empty sub-pieces of `piece` to `sink`, in order. A view passed to `sink` is valid
  // only during that call.
  virtual void pre_tokenize(PieceView piece, PieceSink sink) const = 0;
};

// nullptr for JSON null. `where` names the file.
std::unique_ptr<PreTokenizer> make_pre_tokenizer(const nlohmann::json& config, const std::string& where);

// The regex of GPT-2 that ByteLevel(use_regex = true) splits with.
extern const char* const kGpt2SplitRegex;

// How a pattern's matches cut a string into pieces (tokenizers' SplitDelimiterBehavior), shared by
// the Split, Metaspace, Digits and WhitespaceSplit pre-tokenizers.
enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

// Parses "Removed", "Isolated", ... ; throws naming `where` for anything else.
SplitBehavior parse_split_behavior(std::string_view name, const std::string& where);

// `matches` are sorted, non-overlapping ranges of a string of `length` bytes. Returns the non-empty
// pieces that `behavior` keeps, in order. `invert` swaps the roles of matches and the gaps between them.
std::vector<ByteRange> split_ranges(std::size_t length, const std::vector<ByteRange>& matches, bool invert,
                                    SplitBehavior behavior);

}  // namespace qk::tok
