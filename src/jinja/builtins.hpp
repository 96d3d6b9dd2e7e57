// The reference's built-in methods (s.split(), d.items() ...), filters and tests, over runtime values.
#pragma once
#include <string>
#include <vector>

#include "jinja/value.hpp"

namespace qk::jinja {

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
