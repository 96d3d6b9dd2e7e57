// The syntax tree of a template: one node type with the fields each kind uses (listed per kind), as in
// @huggingface/jinja's ast.ts; and parse (parser.cpp), which builds it from the lexer's tokens.
#pragma once
#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "jinja/lexer.hpp"

namespace qk::jinja {

enum class NodeType {
  Program,              // body
  Comment,              //
  Set,                  // a = target, b = value (null for a block set), body
  If,                   // a = test, body, alternate
  For,                  // a = loop variable(s), b = iterable, body, alternate = else block
  Macro,                // text = name, list = parameters, body
  CallStatement,        // a = call expression, list = caller parameters, body
  FilterStatement,      // a = filter (Identifier or Call), body
  Break,
  Continue,
  IntegerLiteral,       // number
  FloatLiteral,         // number
  StringLiteral,        // text
  Identifier,           // text
  ArrayLiteral,         // list
  TupleLiteral,         // list
  ObjectLiteral,        // pairs
  Member,               // a = object, b = property, computed
  Call,                 // a = callee, list = arguments
  Binary,               // text = operator, a, b
  Unary,                // text = operator, a
  Filter,               // a = operand, b = filter (Identifier or Call)
  Test,                 // a = operand, text = test name, negate
  Select,               // a = value, b = condition ("x if c" without else)
  Ternary,              // a = condition, b = if true, c = if false
  Slice,                // a = start, b = stop, c = step (each may be null)
  KeywordArgument,      // text = name, a = value
  Spread,               // a ("*x")
  KeywordSpread,        // a ("**x")
};

struct Node;
using NodePtr = std::unique_ptr<Node>;

struct Node {
  NodeType type;
  std::size_t offset;  // where the node starts in the source
  std::string text;
  double number = 0;
  bool computed = false;  // Member: x[...] rather than x.name
  bool negate = false;    // Test: "is not"
  NodePtr a, b, c;
  std::vector<NodePtr> list, body, alternate;
  std::vector<std::pair<NodePtr, NodePtr>> pairs;

  Node(NodeType type, std::size_t offset) : type(type), offset(offset) {}
};

// Tokens to a syntax tree, with @huggingface/jinja's grammar and operator precedence.
// Throws RuntimeError with the offset of the token at fault.
NodePtr parse(const std::vector<Token>& tokens);

}  // namespace qk::jinja
