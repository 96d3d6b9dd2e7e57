// How a pattern's matches cut a string into pieces (tokenizers' SplitDelimiterBehavior), shared by
// the Split, Metaspace, Digits and WhitespaceSplit pre-tokenizers.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/regex.hpp"

namespace qk::tok {

enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

// Parses "Removed", "Isolated", ... ; throws naming `where` for anything else.
SplitBehavior parse_split_behavior(std::string_view name, const std::string& where);

// `matches` are sorted, non-overlapping ranges of a string of `length` bytes. Returns the non-empty
// pieces that `behavior` keeps, in order. `invert` swaps the roles of matches and the gaps between them.
std::vector<ByteRange> split_ranges(std::size_t length, const std::vector<ByteRange>& matches, bool invert,
                                    SplitBehavior behavior);

}  // namespace qk::tok
