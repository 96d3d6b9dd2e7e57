// Template source to tokens, as @huggingface/jinja's lexer does it: first the whitespace options
// transformers sets (trim_blocks and lstrip_blocks) and the removal of {% generation %} tags are applied
// to the source text, then {%- -%} {{- -}} {#- -#} strip whitespace next to the tags.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace qk::jinja {

enum class TokenType {
  Text, NumericLiteral, StringLiteral, Identifier, Equals, OpenParen, CloseParen, OpenStatement, CloseStatement,
  OpenExpression, CloseExpression, OpenSquareBracket, CloseSquareBracket, OpenCurlyBracket, CloseCurlyBracket,
  Comma, Dot, Colon, Pipe, AdditiveBinaryOperator, MultiplicativeBinaryOperator, ExponentiationBinaryOperator,
  ComparisonBinaryOperator, UnaryOperator, Comment,
};

const char* token_type_name(TokenType type);

struct Token {
  TokenType type;
  std::string value;
  std::size_t offset;  // where the token starts in the original source
};

// Throws RuntimeError with the offset of the offending character.
std::vector<Token> tokenize(const std::string& source);

}  // namespace qk::jinja
