// Evaluates a syntax tree to text with @huggingface/jinja's semantics (see value.hpp): variables live in
// a chain of scopes, a for loop opens one, a macro call opens one under its caller's.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "jinja/ast.hpp"
#include "jinja/value.hpp"

namespace qk::jinja {

class Env {
 public:
  explicit Env(Env* parent = nullptr) : parent_(parent) {}
  Value lookup(const std::string& name) const;
  void set(const std::string& name, Value value) { variables_[name] = std::move(value); }
  bool has_own(const std::string& name) const { return variables_.count(name) > 0; }

 private:
  std::map<std::string, Value> variables_;
  Env* parent_;
};

// The globals every render starts with: namespace, raise_exception, range, strftime_now, true/false/none
// (also True/False/None).
void add_globals(Env& env);

// Renders a Program node; throws RuntimeError carrying the offset of the innermost node at fault, also
// when it takes more than max_steps evaluations and loop iterations.
std::string render_program(const Node& program, Env& env, long long max_steps);

// The reference's built-in methods (s.split(), d.items() ...), filters and tests, over runtime values
// (builtins.cpp).

// A string's, list's or dict's method or property by name (s.upper, s.length, d.get ...); undefined
// when it has none.
Value builtin_member(const Value& object, const std::string& name);

// Whether a test exists, and its result (b is the optional second operand, e.g. of selectattr).
bool has_test(const std::string& name);
bool run_test(const std::string& name, const Value& a, const Value& b = Value::undefined());

// A filter without arguments ({{ x | trim }}).
Value apply_filter(const std::string& name, const Value& operand);
// A filter with arguments ({{ x | join(", ") }}); the keyword arguments arrive as a mapping.
// selectattr/rejectattr additionally need their arguments to be string literals, which the caller checks.
Value apply_filter(const std::string& name, const Value& operand, const std::vector<Value>& args, const Object& kwargs);

// Python-like comparison for sort/dictsort (numbers, booleans and strings; others throw).
int compare_values(const Value& a, const Value& b, bool case_sensitive);

}  // namespace qk::jinja
