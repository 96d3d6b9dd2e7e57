#include "jinja/value.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

#include <fmt/format.h>

#include "jinja/error.hpp"
#include "jinja/text.hpp"
#include "util/json.hpp"
#include "util/utf8.hpp"

namespace qk::jinja {

const Value* Object::find(const std::string& key) const {
  for (const auto& [k, v] : entries)
    if (k == key) return &v;
  return nullptr;
}

void Object::set(const std::string& key, Value value) {
  for (auto& [k, v] : entries)
    if (k == key) {
      v = std::move(value);
      return;
    }
  entries.emplace_back(key, std::move(value));
}

Value Value::null() { return {.kind = Kind::Null}; }
Value Value::of(bool b) { return {.kind = Kind::Boolean, .boolean = b}; }
Value Value::integer(double n) { return {.kind = Kind::Integer, .number = n}; }
Value Value::floating(double n) { return {.kind = Kind::Float, .number = n}; }
Value Value::str(std::string s) { return {.kind = Kind::String, .string = std::move(s)}; }
Value Value::list(std::vector<Value> items, Kind kind) {
  return {.kind = kind, .array = std::make_shared<std::vector<Value>>(std::move(items))};
}
Value Value::mapping(Object o, Kind kind) { return {.kind = kind, .object = std::make_shared<Object>(std::move(o))}; }
Value Value::callable(Function f) { return {.kind = Kind::Function, .function = std::make_shared<Function>(std::move(f))}; }

bool Value::truthy() const {
  switch (kind) {
    case Kind::Undefined:
    case Kind::Null: return false;
    case Kind::Boolean: return boolean;
    case Kind::Integer:
    case Kind::Float: return number != 0 && !std::isnan(number);
    case Kind::String: return !string.empty();
    case Kind::Array:
    case Kind::Tuple: return !array->empty();
    case Kind::Object:
    case Kind::KeywordArguments: return !object->entries.empty();
    case Kind::Namespace:
    case Kind::Function: return true;
  }
  return false;
}

const char* kind_name(Kind kind) {
  switch (kind) {
    case Kind::Undefined: return "UndefinedValue";
    case Kind::Null: return "NullValue";
    case Kind::Boolean: return "BooleanValue";
    case Kind::Integer: return "IntegerValue";
    case Kind::Float: return "FloatValue";
    case Kind::String: return "StringValue";
    case Kind::Array: return "ArrayValue";
    case Kind::Tuple: return "TupleValue";
    case Kind::Object: return "ObjectValue";
    case Kind::KeywordArguments: return "KeywordArgumentsValue";
    case Kind::Namespace: return "NamespaceValue";
    case Kind::Function: return "FunctionValue";
  }
  return "?";
}

std::string js_number(double x) {
  if (std::isnan(x)) return "NaN";
  if (std::isinf(x)) return x > 0 ? "Infinity" : "-Infinity";
  if (x == 0) return "0";
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, x, std::chars_format::scientific);
  const std::string sci(buf, res.ptr);  // shortest round trip: "-1.2345e+02"
  const bool negative = sci[0] == '-';
  const std::size_t e_pos = sci.find('e');
  std::string digits;
  for (std::size_t i = negative ? 1 : 0; i < e_pos; ++i)
    if (sci[i] != '.') digits += sci[i];
  const std::string_view exponent = std::string_view(sci).substr(sci[e_pos + 1] == '+' ? e_pos + 2 : e_pos + 1);
  const int n = static_cast<int>(parse_int(exponent, "number formatting", -400, 400)) + 1;  // value = 0.digits * 10^n
  const int k = static_cast<int>(digits.size());
  std::string out = negative ? "-" : "";
  if (k <= n && n <= 21) {
    out += digits + std::string(static_cast<std::size_t>(n - k), '0');
  } else if (0 < n && n <= 21) {
    out += digits.substr(0, static_cast<std::size_t>(n)) + "." + digits.substr(static_cast<std::size_t>(n));
  } else if (-6 < n && n <= 0) {
    out += "0." + std::string(static_cast<std::size_t>(-n), '0') + digits;
  } else {
    out += digits.substr(0, 1);
    if (k > 1) out += "." + digits.substr(1);
    out += fmt::format("e{}{}", n - 1 >= 0 ? "+" : "-", std::abs(n - 1));
  }
  return out;
}

namespace {

std::string float_output(double x) {
  if (x == 0 && std::signbit(x)) return "-0.0";
  if (std::isfinite(x) && x == std::floor(x) && std::fabs(x) < 1e21) return fmt::format("{:.1f}", x);
  return js_number(x);
}

// JSON.stringify of a string; ensure_ascii escapes every UTF-16 unit from 0x7F up as \uXXXX.
std::string json_string(const std::string& s, bool ensure_ascii) {
  std::string out = "\"";
  for (char32_t c : text::code_points(s)) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
        } else if (ensure_ascii && c >= 0x7F) {
          if (c >= 0x10000) {
            out += fmt::format("\\u{:04x}\\u{:04x}", static_cast<unsigned>(0xD800 + ((c - 0x10000) >> 10)),
                               static_cast<unsigned>(0xDC00 + ((c - 0x10000) & 0x3FF)));
          } else {
            out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
          }
        } else {
          append_utf8(out, c);
        }
    }
  }
  return out + "\"";
}

}  // namespace

std::string to_json(const Value& v, const JsonOptions& o, int depth, bool undefined_as_null) {
  std::string item_sep = ", ", key_sep = ": ";
  if (o.has_separators) {
    item_sep = o.item_separator;
    key_sep = o.key_separator;
  } else if (o.indent) {
    item_sep = ",";
  }
  switch (v.kind) {
    case Kind::Null: return "null";
    case Kind::Undefined: return undefined_as_null ? "null" : "undefined";
    case Kind::Integer:
    case Kind::Float: return std::isfinite(v.number) ? js_number(v.number) : "null";
    case Kind::Boolean: return v.boolean ? "true" : "false";
    case Kind::String: return json_string(v.string, o.ensure_ascii);
    case Kind::Array:
    case Kind::Object:
    case Kind::Namespace: {
      const std::string indent_unit = o.indent ? std::string(static_cast<std::size_t>(o.indent), ' ') : "";
      std::string base = "\n";
      for (int i = 0; i < depth; ++i) base += indent_unit;
      const std::string children = base + indent_unit;
      std::vector<std::string> core;
      if (v.kind == Kind::Array) {
        for (const Value& x : *v.array) core.push_back(to_json(x, o, depth + 1, undefined_as_null));
        if (o.indent && !core.empty()) {
          std::string out = "[" + children;
          for (std::size_t i = 0; i < core.size(); ++i) out += (i ? item_sep + children : "") + core[i];
          return out + base + "]";
        }
        std::string out = "[";
        for (std::size_t i = 0; i < core.size(); ++i) out += (i ? item_sep : "") + core[i];
        return out + "]";
      }
      auto entries = v.object->entries;
      if (o.sort_keys)
        std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      std::string out = "{";
      for (std::size_t i = 0; i < entries.size(); ++i) {
        std::string item = json_string(entries[i].first, o.ensure_ascii) + key_sep +
                           to_json(entries[i].second, o, depth + 1, undefined_as_null);
        out += (i ? item_sep : "") + (o.indent ? children : "") + item;
      }
      return out + (o.indent && !entries.empty() ? base : "") + "}";
    }
    default: throw RuntimeError(fmt::format("Cannot convert to JSON: {}", kind_name(v.kind)));
  }
}

std::string to_output(const Value& v) {
  switch (v.kind) {
    case Kind::Undefined: return "undefined";
    case Kind::Null: return "null";
    case Kind::Boolean: return v.boolean ? "true" : "false";
    case Kind::Integer: return js_number(v.number);
    case Kind::Float: return float_output(v.number);
    case Kind::String: return v.string;
    case Kind::Function: return "[function]";
    default: return to_json(v, {}, 0, false);
  }
}

std::string to_js_string(const Value& v) {
  switch (v.kind) {
    case Kind::Undefined: return "undefined";
    case Kind::Null: return "null";
    case Kind::Boolean: return v.boolean ? "true" : "false";
    case Kind::Integer:
    case Kind::Float: return js_number(v.number);
    case Kind::String: return v.string;
    case Kind::Array:
    case Kind::Tuple: {
      // Array.prototype.toString joins the runtime values' own toString with ",".
      std::string out;
      for (std::size_t i = 0; i < v.array->size(); ++i) out += (i ? "," : "") + to_output((*v.array)[i]);
      return out;
    }
    case Kind::Object:
    case Kind::KeywordArguments:
    case Kind::Namespace: return "[object Map]";
    case Kind::Function: return "[function]";
  }
  return "";
}

namespace {

bool is_reference(Kind k) {
  return k == Kind::Array || k == Kind::Tuple || k == Kind::Object || k == Kind::KeywordArguments ||
         k == Kind::Namespace || k == Kind::Function;
}

const void* identity(const Value& v) {
  if (v.array) return v.array.get();
  if (v.object) return v.object.get();
  return v.function.get();
}

double primitive_number(const Value& v) {
  if (v.kind == Kind::Boolean) return v.boolean ? 1 : 0;
  if (v.is_number()) return v.number;
  return text::to_number(v.string);
}

}  // namespace

bool strict_equal(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) return a.number == b.number;
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case Kind::Undefined:
    case Kind::Null: return true;
    case Kind::Boolean: return a.boolean == b.boolean;
    case Kind::String: return a.string == b.string;
    default: return identity(a) == identity(b);
  }
}

bool loose_equal(const Value& a, const Value& b) {
  const bool a_nullish = a.kind == Kind::Undefined || a.kind == Kind::Null;
  const bool b_nullish = b.kind == Kind::Undefined || b.kind == Kind::Null;
  if (a_nullish || b_nullish) return a_nullish && b_nullish;
  const bool a_ref = is_reference(a.kind), b_ref = is_reference(b.kind);
  if (a_ref && b_ref) return identity(a) == identity(b);
  if (a_ref || b_ref) {
    // An object against a primitive compares its string form (ToPrimitive).
    const Value as_string = Value::str(to_js_string(a_ref ? a : b));
    return loose_equal(as_string, a_ref ? b : a);
  }
  if (a.kind == Kind::String && b.kind == Kind::String) return a.string == b.string;
  return primitive_number(a) == primitive_number(b);
}

namespace {

// Whether a key is an array index, which JavaScript objects enumerate first, in ascending order.
bool is_array_index(const std::string& key, unsigned long long& index) {
  if (key.empty() || key.size() > 10 || (key.size() > 1 && key[0] == '0')) return false;
  index = 0;
  for (char c : key) {
    if (c < '0' || c > '9') return false;
    index = index * 10 + static_cast<unsigned long long>(c - '0');
  }
  return index < 4294967295ULL;
}

}  // namespace

Value from_json(const nlohmann::ordered_json& j) {
  switch (j.type()) {
    case nlohmann::ordered_json::value_t::null: return Value::null();
    case nlohmann::ordered_json::value_t::boolean: return Value::of(j.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer: return Value::integer(static_cast<double>(j.get<long long>()));
    case nlohmann::ordered_json::value_t::number_unsigned:
      return Value::integer(static_cast<double>(j.get<unsigned long long>()));
    case nlohmann::ordered_json::value_t::number_float: {
      const double x = j.get<double>();
      return std::isfinite(x) && x == std::floor(x) ? Value::integer(x) : Value::floating(x);
    }
    case nlohmann::ordered_json::value_t::string: return Value::str(j.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      std::vector<Value> items;
      for (const auto& x : j) items.push_back(from_json(x));
      return Value::list(std::move(items));
    }
    case nlohmann::ordered_json::value_t::object: {
      std::vector<std::pair<unsigned long long, std::string>> indices;
      Object o;
      for (const auto& [key, value] : j.items()) {
        unsigned long long index;
        if (is_array_index(key, index)) indices.emplace_back(index, key);
      }
      std::sort(indices.begin(), indices.end());
      for (const auto& [index, key] : indices) o.entries.emplace_back(key, from_json(j.at(key)));
      for (const auto& [key, value] : j.items()) {
        unsigned long long index;
        if (!is_array_index(key, index)) o.entries.emplace_back(key, from_json(value));
      }
      return Value::mapping(std::move(o));
    }
    default: return Value::undefined();
  }
}

}  // namespace qk::jinja
