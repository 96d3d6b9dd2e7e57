#include "jinja/interpreter.hpp"  // declares the built-ins

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "jinja/error.hpp"
#include "jinja/text.hpp"
#include "util/utf8.hpp"

namespace qk::jinja {

namespace {

using text::is_word;

std::string title_case(const std::string& s) {
  std::string out = s;
  for (std::size_t i = 0; i < out.size(); ++i)
    if (is_word(out[i]) && (i == 0 || !is_word(s[i - 1])) && out[i] >= 'a' && out[i] <= 'z')
      out[i] = static_cast<char>(out[i] - 'a' + 'A');
  return out;
}

std::string capitalize(const std::string& s) {
  if (s.empty()) return s;
  std::string out = s;
  if (out[0] >= 'a' && out[0] <= 'z') out[0] = static_cast<char>(out[0] - 'a' + 'A');
  return out;
}

std::vector<std::string> split_on(const std::string& s, const std::string& sep) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (std::size_t at; (at = s.find(sep, start)) != std::string::npos; start = at + sep.size())
    parts.push_back(s.substr(start, at - start));
  parts.push_back(s.substr(start));
  return parts;
}

std::string join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) out += (i ? sep : "") + parts[i];
  return out;
}

Value string_list(const std::vector<std::string>& parts) {
  std::vector<Value> items;
  for (const auto& p : parts) items.push_back(Value::str(p));
  return Value::list(std::move(items));
}

Value split(const std::string& s, const std::vector<Value>& args) {
  const Value sep = args.size() > 0 ? args[0] : Value::null();
  if (sep.kind != Kind::String && sep.kind != Kind::Null) raise("sep argument must be a string or null");
  const Value maxsplit = args.size() > 1 ? args[1] : Value::integer(-1);
  if (maxsplit.kind != Kind::Integer) raise("maxsplit argument must be a number");
  const double limit = maxsplit.number;
  std::vector<std::string> result;
  if (sep.kind == Kind::Null) {
    const std::string t = text::trim_start(s);
    std::size_t i = 0;
    while (i < t.size()) {
      while (std::size_t n = text::space_at(t, i)) i += n;
      if (i >= t.size()) break;
      std::size_t j = i;
      while (j < t.size() && text::space_at(t, j) == 0) ++j;
      if (limit != -1 && static_cast<double>(result.size()) >= limit) {
        result.push_back(t.substr(i));
        break;
      }
      result.push_back(t.substr(i, j - i));
      i = j;
    }
  } else {
    if (sep.string.empty()) raise("empty separator");
    result = split_on(s, sep.string);
    if (limit != -1 && static_cast<double>(result.size()) > limit) {
      const auto keep = static_cast<std::size_t>(std::max(0.0, limit));
      std::vector<std::string> rest(result.begin() + static_cast<long>(keep), result.end());
      result.resize(keep);
      result.push_back(join(rest, sep.string));
    }
  }
  return string_list(result);
}

std::string replace(const std::string& s, const std::string& from, const std::string& to, const Value& count) {
  if (count.kind == Kind::Integer && count.number == 0) return s;
  double remaining = count.kind == Kind::Null || count.number < 0 ? INFINITY : count.number;
  std::string out;
  if (from.empty()) {
    const auto cps = text::code_points(s);
    for (char32_t c : cps) {
      if (remaining > 0) out += to, --remaining;
      append_utf8(out, c);
    }
    if (remaining > 0) out += to;
    return out;
  }
  std::size_t start = 0;
  for (std::size_t at; remaining > 0 && (at = s.find(from, start)) != std::string::npos; start = at + from.size()) {
    out += s.substr(start, at - start) + to;
    --remaining;
  }
  return out + s.substr(start);
}

Value string_method(const std::string& s, const std::string& name) {
  auto fn = [](auto f) { return Value::callable([f](std::vector<Value>& args, Env&) { return f(args); }); };
  if (name == "upper") return fn([s](auto&) { return Value::str(text::upper(s)); });
  if (name == "lower") return fn([s](auto&) { return Value::str(text::lower(s)); });
  if (name == "strip") return fn([s](auto&) { return Value::str(text::trim(s)); });
  if (name == "title") return fn([s](auto&) { return Value::str(title_case(s)); });
  if (name == "capitalize") return fn([s](auto&) { return Value::str(capitalize(s)); });
  if (name == "length") return Value::integer(static_cast<double>(text::utf16_length(s)));
  if (name == "rstrip") return fn([s](auto&) { return Value::str(text::trim_end(s)); });
  if (name == "lstrip") return fn([s](auto&) { return Value::str(text::trim_start(s)); });
  if (name == "startswith" || name == "endswith") {
    const bool starts = name == "startswith";
    return fn([s, starts, name](std::vector<Value>& args) {
      if (args.empty()) raise(fmt::format("{}() requires at least one argument", name));
      auto test = [&](const std::string& p) {
        return starts ? s.compare(0, p.size(), p) == 0 && s.size() >= p.size()
                      : s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
      };
      if (args[0].kind == Kind::String) return Value::of(test(args[0].string));
      if (args[0].is_array()) {
        for (const Value& item : *args[0].array) {
          if (item.kind != Kind::String) raise(fmt::format("{}() tuple elements must be strings", name));
          if (test(item.string)) return Value::of(true);
        }
        return Value::of(false);
      }
      raise(fmt::format("{}() argument must be a string or tuple of strings", name));
    });
  }
  if (name == "split") return fn([s](std::vector<Value>& args) { return split(s, args); });
  if (name == "replace")
    return fn([s](std::vector<Value>& args) {
      if (args.size() < 2) raise("replace() requires at least two arguments");
      if (args[0].kind != Kind::String || args[1].kind != Kind::String) raise("replace() arguments must be strings");
      Value count = Value::null();
      if (args.size() > 2) {
        if (args[2].kind == Kind::KeywordArguments) {
          const Value* c = args[2].object->find("count");
          count = c ? *c : Value::null();
        } else {
          count = args[2];
        }
      }
      if (count.kind != Kind::Integer && count.kind != Kind::Null)
        raise("replace() count argument must be a number or null");
      return Value::str(replace(s, args[0].string, args[1].string, count));
    });
  return Value::undefined();
}

Value pairs_of(const Object& o) {
  std::vector<Value> items;
  for (const auto& [k, v] : o.entries) items.push_back(Value::list({Value::str(k), v}));
  return Value::list(std::move(items));
}

bool numeric_like(const Value& v) { return v.is_number() || v.kind == Kind::Boolean; }
double numeric(const Value& v) { return v.kind == Kind::Boolean ? (v.boolean ? 1 : 0) : v.number; }

// Arguments given positionally or by keyword; the keyword mapping of a method call is its last argument.
struct Args {
  std::vector<Value> positional;
  const Object* kwargs = nullptr;
  Value get(std::size_t i, const char* name, Value fallback) const {
    if (i < positional.size()) return positional[i];
    if (kwargs)
      if (const Value* v = kwargs->find(name)) return *v;
    return fallback;
  }
};

Args split_kwargs(const std::vector<Value>& args) {
  Args out;
  for (const Value& a : args) {
    if (a.kind == Kind::KeywordArguments) out.kwargs = a.object.get();
    else out.positional.push_back(a);
  }
  return out;
}

Value dictsort(const Object& o, const std::vector<Value>& raw) {
  const Args args = split_kwargs(raw);
  const Value case_sensitive = args.get(0, "case_sensitive", Value::of(false));
  if (case_sensitive.kind != Kind::Boolean) raise("case_sensitive must be a boolean");
  const Value by = args.get(1, "by", Value::str("key"));
  if (by.kind != Kind::String) raise("by must be a string");
  if (by.string != "key" && by.string != "value") raise("by must be either 'key' or 'value'");
  const Value reverse = args.get(2, "reverse", Value::of(false));
  if (reverse.kind != Kind::Boolean) raise("reverse must be a boolean");
  std::vector<Value> items = *pairs_of(o).array;
  const std::size_t index = by.string == "key" ? 0 : 1;
  std::stable_sort(items.begin(), items.end(), [&](const Value& a, const Value& b) {
    const int r = compare_values((*a.array)[index], (*b.array)[index], case_sensitive.boolean);
    return (reverse.boolean ? -r : r) < 0;
  });
  return Value::list(std::move(items));
}

Value object_method(const Value& object, const std::string& name) {
  const std::shared_ptr<Object> o = object.object;
  auto fn = [](auto f) { return Value::callable([f](std::vector<Value>& args, Env&) { return f(args); }); };
  if (name == "get")
    return fn([o](std::vector<Value>& args) {
      const Value key = args.empty() ? Value::undefined() : args[0];
      if (key.kind != Kind::String) raise(fmt::format("Object key must be a string: got {}", kind_name(key.kind)));
      if (const Value* v = o->find(key.string)) return *v;
      return args.size() > 1 ? args[1] : Value::null();
    });
  if (name == "items") return fn([o](auto&) { return pairs_of(*o); });
  if (name == "keys")
    return fn([o](auto&) {
      std::vector<Value> keys;
      for (const auto& [k, v] : o->entries) keys.push_back(Value::str(k));
      return Value::list(std::move(keys));
    });
  if (name == "values")
    return fn([o](auto&) {
      std::vector<Value> values;
      for (const auto& [k, v] : o->entries) values.push_back(v);
      return Value::list(std::move(values));
    });
  if (name == "dictsort") return fn([o](std::vector<Value>& args) { return dictsort(*o, args); });
  return Value::undefined();
}

// The value at a dotted attribute path ("function.name", "items.0") for sort and map.
Value attribute_path(const Value& item, const std::string& path) {
  Value v = item;
  for (const std::string& part : split_on(path, ".")) {
    if (v.has_attributes()) {
      const Value* found = v.object->find(part);
      v = found ? *found : Value::undefined();
    } else if (v.is_array()) {
      const double index = text::parse_int(part);
      if (std::isnan(index) || index < 0 || index >= static_cast<double>(v.array->size())) return Value::undefined();
      v = (*v.array)[static_cast<std::size_t>(index)];
    } else {
      return Value::undefined();
    }
  }
  return v;
}

std::string join_element(const Value& v) {
  return v.kind == Kind::Null || v.kind == Kind::Undefined ? "" : to_js_string(v);
}

std::string indent(const std::string& s, double width, bool first, bool blank) {
  if (!(width < 1e6)) raise("indent width is too large");
  const std::string pad(static_cast<std::size_t>(std::max(0.0, width)), ' ');
  const auto lines = split_on(s, "\n");
  std::string out;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const bool skip = (!first && i == 0) || (!blank && lines[i].empty());
    out += (i ? "\n" : "") + (skip ? "" : pad) + lines[i];
  }
  return out;
}

}  // namespace

Value builtin_member(const Value& object, const std::string& name) {
  if (object.kind == Kind::String) return string_method(object.string, name);
  if (object.is_array())
    return name == "length" ? Value::integer(static_cast<double>(object.array->size())) : Value::undefined();
  if (object.is_object()) return object_method(object, name);
  return Value::undefined();
}

static const char* const test_names[] = {"boolean", "callable", "odd", "even", "false", "true", "none", "string",
                                         "number", "integer", "iterable", "mapping", "sequence", "lower", "upper",
                                         "defined", "undefined", "equalto", "eq"};

bool has_test(const std::string& name) {
  return std::find(std::begin(test_names), std::end(test_names), name) != std::end(test_names);
}

bool run_test(const std::string& name, const Value& a, const Value& b) {
  if (name == "boolean") return a.kind == Kind::Boolean;
  if (name == "callable") return a.kind == Kind::Function;
  if (name == "odd" || name == "even") {
    if (a.kind != Kind::Integer) raise(fmt::format("cannot {} on {}", name, kind_name(a.kind)));
    const bool odd = std::fmod(a.number, 2) != 0;
    return name == "odd" ? odd : !odd;
  }
  if (name == "false") return a.kind == Kind::Boolean && !a.boolean;
  if (name == "true") return a.kind == Kind::Boolean && a.boolean;
  if (name == "none") return a.kind == Kind::Null;
  if (name == "string") return a.kind == Kind::String;
  if (name == "number") return a.is_number();
  if (name == "integer") return a.kind == Kind::Integer;
  if (name == "iterable") return a.kind == Kind::Array || a.kind == Kind::String;
  if (name == "mapping") return a.is_object();
  if (name == "sequence") return a.is_array() || a.is_object() || a.kind == Kind::String;
  if (name == "lower" || name == "upper") {
    if (a.kind != Kind::String) raise(fmt::format("cannot test '{}' on {}", name, kind_name(a.kind)));
    return a.string == (name == "lower" ? text::lower(a.string) : text::upper(a.string));
  }
  if (name == "defined") return a.kind != Kind::Undefined;
  if (name == "undefined") return a.kind == Kind::Undefined;
  if (name == "equalto" || name == "eq") return strict_equal(a, b);
  raise(fmt::format("Unknown test: {}", name));
}

int compare_values(const Value& a, const Value& b, bool case_sensitive) {
  if (a.kind == Kind::Null && b.kind == Kind::Null) return 0;
  if (a.kind == Kind::Null || b.kind == Kind::Null)
    raise(fmt::format("Cannot compare {} with {}", kind_name(a.kind), kind_name(b.kind)));
  if (a.kind == Kind::Undefined && b.kind == Kind::Undefined) return 0;
  if (a.kind == Kind::Undefined || b.kind == Kind::Undefined)
    raise(fmt::format("Cannot compare {} with {}", kind_name(a.kind), kind_name(b.kind)));
  if (numeric_like(a) && numeric_like(b)) {
    const double x = numeric(a), y = numeric(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a.kind != b.kind)
    raise(fmt::format("Cannot compare different types: {} and {}", kind_name(a.kind), kind_name(b.kind)));
  if (a.kind != Kind::String) raise(fmt::format("Cannot compare type: {}", kind_name(a.kind)));
  const std::string x = case_sensitive ? a.string : text::lower(a.string);
  const std::string y = case_sensitive ? b.string : text::lower(b.string);
  return x < y ? -1 : x > y ? 1 : 0;
}

Value apply_filter(const std::string& name, const Value& operand) {
  if (name == "safe") return operand;
  if (name == "tojson") return Value::str(to_json(operand, {}));
  if (operand.is_array()) {
    const auto& items = *operand.array;
    if (name == "list") return operand;
    if (name == "first") return items.empty() ? Value::undefined() : items.front();
    if (name == "last") return items.empty() ? Value::undefined() : items.back();
    if (name == "length") return Value::integer(static_cast<double>(items.size()));
    if (name == "reverse") return Value::list(std::vector<Value>(items.rbegin(), items.rend()));
    if (name == "sort") {
      std::vector<Value> sorted = items;
      std::stable_sort(sorted.begin(), sorted.end(),
                       [](const Value& a, const Value& b) { return compare_values(a, b, false) < 0; });
      return Value::list(std::move(sorted));
    }
    if (name == "join") {
      std::string out;
      for (const Value& v : items) out += join_element(v);
      return Value::str(out);
    }
    if (name == "string") return Value::str(to_json(operand, {}, 0, false));
    if (name == "unique") {
      std::vector<Value> out;
      for (const Value& v : items) {
        const bool seen = std::any_of(out.begin(), out.end(), [&](const Value& o) {
          return strict_equal(o, v) || (o.is_number() && v.is_number() && std::isnan(o.number) && std::isnan(v.number));
        });
        if (!seen) out.push_back(v);
      }
      return Value::list(std::move(out));
    }
    raise(fmt::format("Unknown ArrayValue filter: {}", name));
  }
  if (operand.kind == Kind::String) {
    const std::string& s = operand.string;
    if (name == "length") return Value::integer(static_cast<double>(text::utf16_length(s)));
    if (name == "upper") return Value::str(text::upper(s));
    if (name == "lower") return Value::str(text::lower(s));
    if (name == "title") return Value::str(title_case(s));
    if (name == "capitalize") return Value::str(capitalize(s));
    if (name == "trim") return Value::str(text::trim(s));
    if (name == "indent") return Value::str(indent(s, 4, false, false));
    if (name == "join" || name == "string") return operand;
    if (name == "int") {
      const double v = text::parse_int(s);
      return Value::integer(std::isnan(v) ? 0 : v);
    }
    if (name == "float") {
      const double v = text::parse_float(s);
      return Value::floating(std::isnan(v) ? 0 : v);
    }
    raise(fmt::format("Unknown StringValue filter: {}", name));
  }
  if (operand.is_number()) {
    if (name == "abs")
      return operand.kind == Kind::Integer ? Value::integer(std::fabs(operand.number)) : Value::floating(std::fabs(operand.number));
    if (name == "int") return Value::integer(std::floor(operand.number));
    if (name == "float") return Value::floating(operand.number);
    if (name == "string") return Value::str(to_output(operand));
    raise(fmt::format("Unknown NumericValue filter: {}", name));
  }
  if (operand.is_object()) {
    if (name == "items") return pairs_of(*operand.object);
    if (name == "length") return Value::integer(static_cast<double>(operand.object->entries.size()));
    const Value method = object_method(operand, name);
    if (method.kind == Kind::Function) {
      std::vector<Value> none;
      Env scratch;
      return (*method.function)(none, scratch);
    }
    raise(fmt::format("Unknown ObjectValue filter: {}", name));
  }
  if (operand.kind == Kind::Boolean) {
    if (name == "bool") return operand;
    if (name == "int") return Value::integer(operand.boolean ? 1 : 0);
    if (name == "float") return Value::floating(operand.boolean ? 1 : 0);
    if (name == "string") return Value::str(operand.boolean ? "true" : "false");
    raise(fmt::format("Unknown BooleanValue filter: {}", name));
  }
  raise(fmt::format("Cannot apply filter \"{}\" to type: {}", name, kind_name(operand.kind)));
}

Value apply_filter(const std::string& name, const Value& operand, const std::vector<Value>& positional,
                   const Object& kwargs) {
  Args args{positional, &kwargs};
  if (name == "tojson") {
    const Value indent_value = args.get(SIZE_MAX, "indent", Value::null());
    if (indent_value.kind != Kind::Integer && indent_value.kind != Kind::Null) raise("If set, indent must be a number");
    const Value ensure_ascii = args.get(SIZE_MAX, "ensure_ascii", Value::of(false));
    if (ensure_ascii.kind != Kind::Boolean) raise("If set, ensure_ascii must be a boolean");
    const Value sort_keys = args.get(SIZE_MAX, "sort_keys", Value::of(false));
    if (sort_keys.kind != Kind::Boolean) raise("If set, sort_keys must be a boolean");
    const Value separators = args.get(SIZE_MAX, "separators", Value::null());
    JsonOptions options;
    options.indent = indent_value.kind == Kind::Integer ? static_cast<int>(indent_value.number) : 0;
    options.ensure_ascii = ensure_ascii.boolean;
    options.sort_keys = sort_keys.boolean;
    if (separators.is_array()) {
      if (separators.array->size() != 2 || (*separators.array)[0].kind != Kind::String ||
          (*separators.array)[1].kind != Kind::String)
        raise("separators must be a tuple of two strings");
      options.has_separators = true;
      options.item_separator = (*separators.array)[0].string;
      options.key_separator = (*separators.array)[1].string;
    } else if (separators.kind != Kind::Null) {
      raise("If set, separators must be a tuple of two strings");
    }
    return Value::str(to_json(operand, options));
  }
  if (name == "join") {
    std::vector<std::string> parts;
    if (operand.kind == Kind::String) {
      for (char32_t c : text::code_points(operand.string)) parts.push_back(utf8_char(c));
    } else if (operand.is_array()) {
      for (const Value& v : *operand.array) parts.push_back(join_element(v));
    } else {
      raise(fmt::format("Cannot apply filter \"{}\" to type: {}", name, kind_name(operand.kind)));
    }
    const Value sep = args.get(0, "separator", Value::str(""));
    if (sep.kind != Kind::String) raise("separator must be a string");
    return Value::str(join(parts, sep.string));
  }
  if (name == "int" || name == "float") {
    const bool to_int = name == "int";
    const Value fallback = args.get(0, "default", to_int ? Value::integer(0) : Value::floating(0));
    if (operand.kind == Kind::String) {
      const double v = to_int ? text::parse_int(operand.string) : text::parse_float(operand.string);
      if (std::isnan(v)) return fallback;
      return to_int ? Value::integer(v) : Value::floating(v);
    }
    if (operand.is_number()) return operand;
    if (operand.kind == Kind::Boolean)
      return to_int ? Value::integer(operand.boolean ? 1 : 0) : Value::floating(operand.boolean ? 1 : 0);
    raise(fmt::format("Cannot apply filter \"{}\" to type: {}", name, kind_name(operand.kind)));
  }
  if (name == "default") {
    const Value fallback = positional.size() > 0 ? positional[0] : Value::str("");
    const Value boolean = args.get(1, "boolean", Value::of(false));
    if (boolean.kind != Kind::Boolean) raise("`default` filter flag must be a boolean");
    if (operand.kind == Kind::Undefined || (boolean.boolean && !operand.truthy())) return fallback;
    return operand;
  }
  if (operand.is_array()) {
    const auto& items = *operand.array;
    if (name == "sort") {
      const Value reverse = args.get(0, "reverse", Value::of(false));
      if (reverse.kind != Kind::Boolean) raise("reverse must be a boolean");
      const Value case_sensitive = args.get(1, "case_sensitive", Value::of(false));
      if (case_sensitive.kind != Kind::Boolean) raise("case_sensitive must be a boolean");
      const Value attribute = args.get(2, "attribute", Value::null());
      if (attribute.kind != Kind::String && attribute.kind != Kind::Integer && attribute.kind != Kind::Null)
        raise("attribute must be a string, integer, or null");
      auto key = [&](const Value& item) {
        if (attribute.kind == Kind::Null) return item;
        return attribute_path(item, attribute.kind == Kind::Integer ? js_number(attribute.number) : attribute.string);
      };
      std::vector<Value> sorted = items;
      std::stable_sort(sorted.begin(), sorted.end(), [&](const Value& a, const Value& b) {
        const int r = compare_values(key(a), key(b), case_sensitive.boolean);
        return (reverse.boolean ? -r : r) < 0;
      });
      return Value::list(std::move(sorted));
    }
    if (name == "selectattr" || name == "rejectattr") {
      const bool select = name == "selectattr";
      for (const Value& item : items)
        if (!item.has_attributes()) raise(fmt::format("`{}` can only be applied to array of objects", name));
      if (positional.empty()) raise(fmt::format("`{}` needs an attribute name", name));
      const std::string& attr = positional[0].string;
      const Value value = positional.size() > 2 ? positional[2] : Value::undefined();
      if (positional.size() > 1 && !has_test(positional[1].string))
        raise(fmt::format("Unknown test: {}", positional[1].string));
      std::vector<Value> out;
      for (const Value& item : items) {
        const Value* a = item.object->find(attr);
        bool result = false;
        if (a) result = positional.size() > 1 ? run_test(positional[1].string, *a, value) : a->truthy();
        if (result == select) out.push_back(item);
      }
      return Value::list(std::move(out));
    }
    if (name == "map") {
      const Value* attr = kwargs.find("attribute");
      if (!attr) raise("`map` expressions without `attribute` set are not currently supported.");
      if (attr->kind != Kind::String) raise("attribute must be a string");
      const Value* fallback = kwargs.find("default");
      std::vector<Value> out;
      for (const Value& item : items) {
        if (!item.has_attributes()) raise("items in map must be an object");
        const Value v = attribute_path(item, attr->string);
        out.push_back(v.kind == Kind::Undefined && fallback ? *fallback : v);
      }
      return Value::list(std::move(out));
    }
    raise(fmt::format("Unknown ArrayValue filter: {}", name));
  }
  if (operand.kind == Kind::String) {
    if (name == "indent") {
      const Value width = args.get(0, "width", Value::integer(4));
      if (width.kind != Kind::Integer) raise("width must be a number");
      const Value first = args.get(1, "first", Value::of(false));
      const Value blank = args.get(2, "blank", Value::of(false));
      return Value::str(indent(operand.string, width.number, first.truthy(), blank.truthy()));
    }
    if (name == "replace") {
      std::vector<Value> call_args = positional;
      call_args.push_back(Value::mapping(kwargs, Kind::KeywordArguments));
      const Value method = string_method(operand.string, "replace");
      Env scratch;
      return (*method.function)(call_args, scratch);
    }
    raise(fmt::format("Unknown StringValue filter: {}", name));
  }
  if (operand.is_object()) {
    const Value method = object_method(operand, name);
    if (method.kind == Kind::Function) {
      std::vector<Value> call_args = positional;
      if (!kwargs.entries.empty()) call_args.push_back(Value::mapping(kwargs, Kind::KeywordArguments));
      Env scratch;
      return (*method.function)(call_args, scratch);
    }
    raise(fmt::format("Unknown ObjectValue filter: {}", name));
  }
  raise(fmt::format("Cannot apply filter \"{}\" to type: {}", name, kind_name(operand.kind)));
}

}  // namespace qk::jinja
