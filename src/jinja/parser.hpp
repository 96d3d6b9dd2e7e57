// Tokens to a syntax tree, with @huggingface/jinja's grammar and operator precedence.
#pragma once
#include <vector>

#include "jinja/ast.hpp"
#include "jinja/lexer.hpp"

namespace qk::jinja {

// Throws RuntimeError with the offset of the token at fault.
NodePtr parse(const std::vector<Token>& tokens);

}  // namespace qk::jinja
