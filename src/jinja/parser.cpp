#include "jinja/ast.hpp"

#include <algorithm>
#include <cstdlib>
#include <initializer_list>
#include <set>
#include <string>

#include <fmt/format.h>

#include "jinja/error.hpp"

namespace qk::jinja {

namespace {

using T = TokenType;

struct Parser {
  const std::vector<Token>& tokens;
  std::size_t current = 0;
  std::size_t end_offset;
  int depth = 0;

  // Bounds the recursion of nested expressions and blocks, so hostile input fails instead of
  // overflowing the stack.
  struct Nesting {
    Parser& p;
    explicit Nesting(Parser& p) : p(p) {
      if (++p.depth > 200) p.error("Template nests too deeply");
    }
    ~Nesting() { --p.depth; }
  };

  explicit Parser(const std::vector<Token>& tokens)
      : tokens(tokens), end_offset(tokens.empty() ? 0 : tokens.back().offset + tokens.back().value.size()) {}

  [[noreturn]] void error(const std::string& message) const {
    throw RuntimeError(message, current < tokens.size() ? tokens[current].offset : end_offset);
  }
  const Token& peek() const {
    if (current >= tokens.size()) error("Unexpected end of template");
    return tokens[current];
  }
  const Token& next() {
    const Token& t = peek();
    ++current;
    return t;
  }
  NodePtr node(NodeType type, std::size_t offset) { return std::make_unique<Node>(type, offset); }

  const Token& expect(T type, const char* message) {
    if (current >= tokens.size()) error(fmt::format("Parser Error: {}. Unexpected end of template", message));
    const Token& t = tokens[current];
    if (t.type != type)
      error(fmt::format("Parser Error: {}. {} !== {}.", message, token_type_name(t.type), token_type_name(type)));
    ++current;
    return t;
  }
  bool is(std::initializer_list<T> types) const {
    if (current + types.size() > tokens.size()) return false;
    std::size_t i = current;
    for (T type : types)
      if (tokens[i++].type != type) return false;
    return true;
  }
  bool is(T type) const { return current < tokens.size() && tokens[current].type == type; }
  bool is_statement(std::initializer_list<const char*> names) const {
    if (current + 1 >= tokens.size() || tokens[current].type != T::OpenStatement ||
        tokens[current + 1].type != T::Identifier)
      return false;
    for (const char* name : names)
      if (tokens[current + 1].value == name) return true;
    return false;
  }
  bool is_identifier(const char* name) const {
    return current < tokens.size() && tokens[current].type == T::Identifier && tokens[current].value == name;
  }
  bool is_identifiers(const char* a, const char* b) const {
    return current + 1 < tokens.size() && tokens[current].type == T::Identifier && tokens[current].value == a &&
           tokens[current + 1].type == T::Identifier && tokens[current + 1].value == b;
  }
  void expect_identifier(const char* name) {
    if (!is_identifier(name)) error(fmt::format("Expected {}", name));
    ++current;
  }
  void expect_end(const char* name) {
    expect(T::OpenStatement, "Expected {% token");
    expect_identifier(name);
    expect(T::CloseStatement, "Expected %} token");
  }

  // Statements up to (not including) one of the named closing tags.
  std::vector<NodePtr> block_until(std::initializer_list<const char*> names) {
    std::vector<NodePtr> body;
    while (!is_statement(names)) {
      if (current >= tokens.size())
        error(fmt::format("Unexpected end of template: expected {{% {} %}}", *names.begin()));
      body.push_back(parse_any());
    }
    return body;
  }

  NodePtr parse_any() {
    Nesting guard(*this);
    const Token& t = peek();
    switch (t.type) {
      case T::Comment: ++current; return node(NodeType::Comment, t.offset);
      case T::Text: {
        auto n = node(NodeType::StringLiteral, t.offset);
        n->text = t.value;
        ++current;
        return n;
      }
      case T::OpenStatement: return parse_statement();
      case T::OpenExpression: {
        ++current;
        auto n = parse_expression();
        expect(T::CloseExpression, "Expected closing expression token");
        return n;
      }
      default: error(fmt::format("Unexpected token type: {}", token_type_name(t.type)));
    }
  }

  NodePtr parse_statement() {
    expect(T::OpenStatement, "Expected opening statement token");
    const Token& t = peek();
    if (t.type != T::Identifier) error(fmt::format("Unknown statement, got {}", token_type_name(t.type)));
    const std::string name = t.value;
    const std::size_t offset = t.offset;
    ++current;
    if (name == "set") return parse_set(offset);
    if (name == "if") {
      auto n = parse_if(offset);
      expect_end("endif");
      return n;
    }
    if (name == "macro") {
      auto n = node(NodeType::Macro, offset);
      auto callee = parse_primary();
      if (callee->type != NodeType::Identifier) error("Expected identifier following macro statement");
      n->text = callee->text;
      n->list = parse_args(true);
      expect(T::CloseStatement, "Expected closing statement token");
      n->body = block_until({"endmacro"});
      expect_end("endmacro");
      return n;
    }
    if (name == "for") {
      auto n = parse_for(offset);
      expect_end("endfor");
      return n;
    }
    if (name == "call") {
      auto n = node(NodeType::CallStatement, offset);
      if (is(T::OpenParen)) n->list = parse_args(true);
      auto callee = parse_primary();
      if (callee->type != NodeType::Identifier) error("Expected identifier following call statement");
      auto call = node(NodeType::Call, callee->offset);
      call->list = parse_args(false);
      call->a = std::move(callee);
      n->a = std::move(call);
      expect(T::CloseStatement, "Expected closing statement token");
      n->body = block_until({"endcall"});
      expect_end("endcall");
      return n;
    }
    if (name == "break" || name == "continue") {
      expect(T::CloseStatement, "Expected closing statement token");
      return node(name == "break" ? NodeType::Break : NodeType::Continue, offset);
    }
    if (name == "filter") {
      auto n = node(NodeType::FilterStatement, offset);
      auto filter = parse_primary();
      if (filter->type == NodeType::Identifier && is(T::OpenParen)) filter = parse_call(std::move(filter));
      n->a = std::move(filter);
      expect(T::CloseStatement, "Expected closing statement token");
      n->body = block_until({"endfilter"});
      expect_end("endfilter");
      return n;
    }
    current -= 1;
    error(fmt::format("Unknown statement type: {}", name));
  }

  NodePtr parse_set(std::size_t offset) {
    auto n = node(NodeType::Set, offset);
    n->a = parse_expression_sequence(false);
    if (is(T::Equals)) {
      ++current;
      n->b = parse_expression_sequence(false);
    } else {
      expect(T::CloseStatement, "Expected %} token");
      n->body = block_until({"endset"});
      expect(T::OpenStatement, "Expected {% token");
      expect_identifier("endset");
    }
    expect(T::CloseStatement, "Expected closing statement token");
    return n;
  }

  NodePtr parse_if(std::size_t offset) {
    auto n = node(NodeType::If, offset);
    n->a = parse_expression();
    expect(T::CloseStatement, "Expected closing statement token");
    n->body = block_until({"elif", "else", "endif"});
    if (is_statement({"elif"})) {
      current += 2;
      n->alternate.push_back(parse_if(tokens[current - 1].offset));
    } else if (is_statement({"else"})) {
      current += 2;
      expect(T::CloseStatement, "Expected closing statement token");
      n->alternate = block_until({"endif"});
    }
    return n;
  }

  NodePtr parse_for(std::size_t offset) {
    auto n = node(NodeType::For, offset);
    n->a = parse_expression_sequence(true);
    if (n->a->type != NodeType::Identifier && n->a->type != NodeType::TupleLiteral)
      error("Expected identifier/tuple for the loop variable");
    if (!is_identifier("in")) error("Expected `in` keyword following loop variable");
    ++current;
    n->b = parse_expression();
    expect(T::CloseStatement, "Expected closing statement token");
    n->body = block_until({"endfor", "else"});
    if (is_statement({"else"})) {
      current += 2;
      expect(T::CloseStatement, "Expected closing statement token");
      n->alternate = block_until({"endfor"});
    }
    return n;
  }

  NodePtr parse_expression_sequence(bool primary) {
    const std::size_t offset = peek().offset;
    std::vector<NodePtr> items;
    items.push_back(primary ? parse_primary() : parse_expression());
    const bool tuple = is(T::Comma);
    while (tuple) {
      ++current;
      items.push_back(primary ? parse_primary() : parse_expression());
      if (!is(T::Comma)) break;
    }
    if (!tuple) return std::move(items[0]);
    auto n = node(NodeType::TupleLiteral, offset);
    n->list = std::move(items);
    return n;
  }

  NodePtr parse_expression() {
    Nesting guard(*this);
    return parse_if_expression();
  }

  NodePtr parse_if_expression() {
    auto a = parse_or();
    if (is_identifier("if")) {
      const std::size_t offset = a->offset;
      ++current;
      auto test = parse_or();
      if (is_identifier("else")) {
        ++current;
        auto n = node(NodeType::Ternary, offset);
        n->a = std::move(test);
        n->b = std::move(a);
        n->c = parse_if_expression();
        return n;
      }
      auto n = node(NodeType::Select, offset);
      n->a = std::move(a);
      n->b = std::move(test);
      return n;
    }
    return a;
  }

  NodePtr binary(std::string op, NodePtr left, NodePtr right) {
    auto n = node(NodeType::Binary, left->offset);
    n->text = std::move(op);
    n->a = std::move(left);
    n->b = std::move(right);
    return n;
  }

  NodePtr parse_or() {
    auto left = parse_and();
    while (is_identifier("or")) {
      ++current;
      left = binary("or", std::move(left), parse_and());
    }
    return left;
  }
  NodePtr parse_and() {
    auto left = parse_not();
    while (is_identifier("and")) {
      ++current;
      left = binary("and", std::move(left), parse_not());
    }
    return left;
  }
  NodePtr parse_not() {
    NodePtr result;
    while (is_identifier("not")) {
      Nesting guard(*this);
      const std::size_t offset = tokens[current].offset;
      ++current;
      auto n = node(NodeType::Unary, offset);
      n->text = "not";
      n->a = parse_not();
      result = std::move(n);
    }
    return result ? std::move(result) : parse_comparison();
  }
  NodePtr parse_comparison() {
    auto left = parse_additive();
    while (true) {
      std::string op;
      if (is_identifiers("not", "in")) {
        op = "not in";
        current += 2;
      } else if (is_identifier("in")) {
        op = "in";
        ++current;
      } else if (is(T::ComparisonBinaryOperator)) {
        op = next().value;
      } else {
        break;
      }
      left = binary(op, std::move(left), parse_additive());
    }
    return left;
  }
  NodePtr parse_additive() {
    auto left = parse_multiplicative();
    while (is(T::AdditiveBinaryOperator)) {
      std::string op = next().value;
      left = binary(op, std::move(left), parse_multiplicative());
    }
    return left;
  }
  NodePtr parse_multiplicative() {
    auto left = parse_power();
    while (is(T::MultiplicativeBinaryOperator)) {
      std::string op = next().value;
      left = binary(op, std::move(left), parse_power());
    }
    return left;
  }
  NodePtr parse_power() {
    auto left = parse_test();
    while (is(T::ExponentiationBinaryOperator)) {
      std::string op = next().value;
      left = binary(op, std::move(left), parse_test());
    }
    return left;
  }
  NodePtr parse_test() {
    auto operand = parse_filter();
    while (is_identifier("is")) {
      ++current;
      const bool negate = is_identifier("not");
      if (negate) ++current;
      auto test = parse_primary();
      if (test->type != NodeType::Identifier) error("Expected identifier for the test");
      auto n = node(NodeType::Test, operand->offset);
      n->a = std::move(operand);
      n->text = test->text;
      n->negate = negate;
      operand = std::move(n);
    }
    return operand;
  }
  NodePtr parse_filter() {
    auto operand = parse_unary_sign();
    while (is(T::Pipe)) {
      ++current;
      auto filter = parse_primary();
      if (filter->type != NodeType::Identifier) error("Expected identifier for the filter");
      if (is(T::OpenParen)) filter = parse_call(std::move(filter));
      auto n = node(NodeType::Filter, operand->offset);
      n->a = std::move(operand);
      n->b = std::move(filter);
      operand = std::move(n);
    }
    return operand;
  }
  NodePtr parse_unary_sign() {
    if (current < tokens.size()) {
      const Token& t = tokens[current];
      if ((t.type == T::UnaryOperator || t.type == T::AdditiveBinaryOperator) && (t.value == "-" || t.value == "+")) {
        Nesting guard(*this);
        ++current;
        auto n = node(NodeType::Unary, t.offset);
        n->text = t.value;
        n->a = parse_unary_sign();
        return n;
      }
    }
    return parse_call_member();
  }
  NodePtr parse_call_member() {
    auto member = parse_member(parse_primary());
    if (is(T::OpenParen)) return parse_call(std::move(member));
    return member;
  }
  NodePtr parse_call(NodePtr callee) {
    auto n = node(NodeType::Call, callee->offset);
    n->list = parse_args(false);
    n->a = std::move(callee);
    NodePtr expression = parse_member(std::move(n));
    if (is(T::OpenParen)) expression = parse_call(std::move(expression));
    return expression;
  }

  std::vector<NodePtr> parse_args(bool parameters) {
    expect(T::OpenParen, "Expected opening parenthesis for arguments list");
    std::vector<NodePtr> args;
    std::set<std::string> names;
    bool saw_keyword = false, saw_spread = false;
    while (!is(T::CloseParen)) {
      if (current >= tokens.size()) error("Unexpected end of template in an argument list");
      const bool keyword_spread = is(T::ExponentiationBinaryOperator);
      const bool positional_spread = is(T::MultiplicativeBinaryOperator) && tokens[current].value == "*";
      if (parameters && (keyword_spread || positional_spread))
        error("Argument unpacking is not allowed in parameter declarations");
      if (keyword_spread) {
        auto n = node(NodeType::KeywordSpread, tokens[current].offset);
        ++current;
        n->a = parse_expression();
        args.push_back(std::move(n));
        if (is(T::Comma)) ++current;
        if (!is(T::CloseParen)) error("Expected closing parenthesis: `**` must be applied to the final argument");
        break;
      }
      NodePtr argument;
      if (positional_spread) {
        if (saw_spread) error("Only one `*` argument unpacking is allowed");
        saw_spread = true;
        argument = node(NodeType::Spread, tokens[current].offset);
        ++current;
        argument->a = parse_expression();
      } else {
        argument = parse_expression();
        if (is(T::Equals)) {
          ++current;
          if (argument->type != NodeType::Identifier)
            error(parameters ? "Expected identifier for parameter declaration" : "Expected identifier for keyword argument");
          auto kw = node(NodeType::KeywordArgument, argument->offset);
          kw->text = argument->text;
          kw->a = parse_expression();
          argument = std::move(kw);
        }
        if (parameters) {
          if (argument->type != NodeType::Identifier && argument->type != NodeType::KeywordArgument)
            error("Expected identifier for parameter declaration");
          if (!names.insert(argument->text).second) error(fmt::format("Duplicate parameter name: {}", argument->text));
        }
        if (argument->type == NodeType::KeywordArgument) {
          saw_keyword = true;
        } else if (saw_keyword) {
          error(parameters ? "Non-default argument follows default argument"
                           : "Positional arguments must come before keyword arguments");
        } else if (saw_spread) {
          error("Positional arguments must not follow `*` argument unpacking");
        }
      }
      args.push_back(std::move(argument));
      if (is(T::Comma)) ++current;
    }
    expect(T::CloseParen, "Expected closing parenthesis for arguments list");
    return args;
  }

  NodePtr parse_member_arguments() {
    const std::size_t offset = peek().offset;
    std::vector<NodePtr> slices;
    bool is_slice = false;
    while (!is(T::CloseSquareBracket)) {
      if (current >= tokens.size()) error("Unexpected end of template in a subscript");
      if (is(T::Colon)) {
        slices.push_back(nullptr);
        ++current;
        is_slice = true;
      } else {
        slices.push_back(parse_expression());
        if (is(T::Colon)) {
          ++current;
          is_slice = true;
        }
      }
    }
    if (slices.empty()) error("Expected at least one argument for member/slice expression");
    if (is_slice) {
      if (slices.size() > 3) error("Expected 0-3 arguments for slice expression");
      auto n = node(NodeType::Slice, offset);
      n->a = std::move(slices[0]);
      if (slices.size() > 1) n->b = std::move(slices[1]);
      if (slices.size() > 2) n->c = std::move(slices[2]);
      return n;
    }
    return std::move(slices[0]);
  }

  NodePtr parse_member(NodePtr object) {
    while (is(T::Dot) || is(T::OpenSquareBracket)) {
      const bool computed = next().type == T::OpenSquareBracket;
      NodePtr property;
      if (computed) {
        property = parse_member_arguments();
        expect(T::CloseSquareBracket, "Expected closing square bracket");
      } else {
        property = parse_primary();
        if (property->type != NodeType::Identifier && property->type != NodeType::IntegerLiteral)
          error("Expected identifier or integer following dot operator");
      }
      auto n = node(NodeType::Member, object->offset);
      n->a = std::move(object);
      n->b = std::move(property);
      n->computed = computed;
      object = std::move(n);
    }
    return object;
  }

  NodePtr parse_primary() {
    const Token& t = next();
    switch (t.type) {
      case T::NumericLiteral: {
        const bool is_float = t.value.find('.') != std::string::npos;
        auto n = node(is_float ? NodeType::FloatLiteral : NodeType::IntegerLiteral, t.offset);
        n->number = std::strtod(t.value.c_str(), nullptr);  // too large a literal is Infinity, as in JavaScript
        return n;
      }
      case T::StringLiteral: {
        auto n = node(NodeType::StringLiteral, t.offset);
        n->text = t.value;
        while (is(T::StringLiteral)) n->text += next().value;
        return n;
      }
      case T::Identifier: {
        auto n = node(NodeType::Identifier, t.offset);
        n->text = t.value;
        return n;
      }
      case T::OpenParen: {
        auto n = parse_expression_sequence(false);
        expect(T::CloseParen, "Expected closing parenthesis");
        return n;
      }
      case T::OpenSquareBracket: {
        auto n = node(NodeType::ArrayLiteral, t.offset);
        while (!is(T::CloseSquareBracket)) {
          if (current >= tokens.size()) error("Unexpected end of template in a list literal");
          n->list.push_back(parse_expression());
          if (is(T::Comma)) ++current;
        }
        ++current;
        return n;
      }
      case T::OpenCurlyBracket: {
        auto n = node(NodeType::ObjectLiteral, t.offset);
        while (!is(T::CloseCurlyBracket)) {
          if (current >= tokens.size()) error("Unexpected end of template in a dict literal");
          auto key = parse_expression();
          expect(T::Colon, "Expected colon between key and value in object literal");
          auto value = parse_expression();
          n->pairs.emplace_back(std::move(key), std::move(value));
          if (is(T::Comma)) ++current;
        }
        ++current;
        return n;
      }
      default: --current; error(fmt::format("Unexpected token: {}", token_type_name(t.type)));
    }
  }
};

}  // namespace

NodePtr parse(const std::vector<Token>& tokens) {
  Parser p(tokens);
  auto program = std::make_unique<Node>(NodeType::Program, 0);
  while (p.current < tokens.size()) program->body.push_back(p.parse_any());
  return program;
}

}  // namespace qk::jinja
