// Hand-written matchers for the three split regexes that nearly every byte-level BPE tokenizer uses
// (GPT-2's, and the Qwen2 / Llama-3 one that differ only in \p{N} vs \p{N}{1,3}). They return the
// same matches as the regex (tests/tokenizer/fast_split_test.cpp compares them with PCRE2 on random
// text) at a fraction of the cost of one regex call per word.
#pragma once
#include <string_view>

#include "tokenizer/function_ref.hpp"
#include "tokenizer/regex.hpp"

namespace qk::tok {

enum class FastSplit { None, Gpt2, Qwen2, Llama3 };

// Which matcher implements `onig_pattern` exactly (by spelling), or None.
FastSplit fast_split_for(std::string_view onig_pattern);

// The matches of the regex that `kind` stands for, in order; they tile `text` (valid UTF-8).
void fast_split(FastSplit kind, std::string_view text, FunctionRef<void(ByteRange)> on_match);

}  // namespace qk::tok
