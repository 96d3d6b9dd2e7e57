// Evaluates a syntax tree to text with @huggingface/jinja's semantics (see value.hpp): variables live in
// a chain of scopes, a for loop opens one, a macro call opens one under its caller's.
#pragma once
#include <map>
#include <string>

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

}  // namespace qk::jinja
