// Runtime values of the Jinja interpreter. The reference is @huggingface/jinja (npm), the interpreter
// transformers.js and the Hugging Face Hub run chat templates with; its values are JavaScript values, so
// numbers are doubles (an Integer is a double that prints without ".0"), equality is JavaScript's, and
// arrays/objects/namespaces are shared by reference. Mappings keep insertion order.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace qk::jinja {

class Env;
struct Value;

// The kinds of @huggingface/jinja's runtime values; Tuple is an Array and KeywordArguments an Object
// that print, test and serialise differently, as there.
enum class Kind { Undefined, Null, Boolean, Integer, Float, String, Array, Tuple, Object, KeywordArguments, Namespace, Function };

struct Object {
  std::vector<std::pair<std::string, Value>> entries;
  const Value* find(const std::string& key) const;
  void set(const std::string& key, Value value);
};

using Function = std::function<Value(std::vector<Value>& args, Env& env)>;

struct Value {
  Kind kind = Kind::Undefined;
  bool boolean = false;
  double number = 0;                  // Integer, Float
  std::string string{};               // String
  std::shared_ptr<std::vector<Value>> array{};  // Array, Tuple
  std::shared_ptr<Object> object{};   // Object, KeywordArguments, Namespace
  std::shared_ptr<Function> function{};

  static Value undefined() { return {}; }
  static Value null();
  static Value of(bool b);
  static Value integer(double n);
  static Value floating(double n);
  static Value str(std::string s);
  static Value list(std::vector<Value> items, Kind kind = Kind::Array);
  static Value mapping(Object o, Kind kind = Kind::Object);
  static Value callable(Function f);

  bool is_undefined() const { return kind == Kind::Undefined; }
  bool is_none() const { return kind == Kind::Null; }
  bool is_number() const { return kind == Kind::Integer || kind == Kind::Float; }
  bool is_array() const { return kind == Kind::Array || kind == Kind::Tuple; }
  bool is_object() const { return kind == Kind::Object || kind == Kind::KeywordArguments; }
  bool has_attributes() const { return is_object() || kind == Kind::Namespace; }
  bool truthy() const;
};

// "StringValue", "ArrayValue" ...: the reference's type names, used in error messages.
const char* kind_name(Kind kind);

// How {{ value }} prints it (floats keep ".0", booleans are true/false, lists and dicts print as JSON).
std::string to_output(const Value& v);
// JavaScript's String(v.value), which "~" and "+" concatenate and |join joins.
std::string to_js_string(const Value& v);
// JavaScript's Number.prototype.toString.
std::string js_number(double x);

struct JsonOptions {
  int indent = 0;
  bool ensure_ascii = false;
  bool sort_keys = false;
  bool has_separators = false;
  std::string item_separator, key_separator;
};
// |tojson: JSON.stringify's escaping with Python json.dumps' separators; undefined_as_null false
// prints undefined members as "undefined" (printing a list, as the reference does).
std::string to_json(const Value& v, const JsonOptions& options, int depth = 0, bool undefined_as_null = true);

// JavaScript's ==, and === (as "in" and |unique compare).
bool loose_equal(const Value& a, const Value& b);
bool strict_equal(const Value& a, const Value& b);

// A JSON document as the reference sees it once JavaScript has parsed it: integral numbers are
// Integers, and keys that are array indices come first in ascending order (Object.entries' order).
Value from_json(const nlohmann::ordered_json& j);

}  // namespace qk::jinja
