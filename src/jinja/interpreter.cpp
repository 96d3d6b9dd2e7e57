#include "jinja/interpreter.hpp"

#include <cmath>
#include <ctime>

#include <fmt/format.h>

#include "jinja/error.hpp"
#include "jinja/text.hpp"
#include "util/utf8.hpp"

namespace qk::jinja {

Value Env::lookup(const std::string& name) const {
  for (const Env* e = this; e; e = e->parent_) {
    auto it = e->variables_.find(name);
    if (it != e->variables_.end()) return it->second;
  }
  return Value::undefined();
}

namespace {

struct BreakSignal {};
struct ContinueSignal {};

// Deep enough for any real template; shallow enough that a runaway recursive macro fails cleanly.
constexpr int max_depth = 400;
// Real chat templates take kilobytes; this bounds a string doubled in a loop to an error instead of
// gigabytes (the step budget of render_program bounds the time).
constexpr std::size_t max_string = 64u << 20;

Value checked_string(std::string s) {
  if (s.size() > max_string) raise("the rendered text grows past 64 MiB");
  return Value::str(std::move(s));
}

std::string strftime_now(const std::string& format) {
  static const char* const months_long[] = {"January", "February", "March", "April", "May", "June", "July",
                                            "August", "September", "October", "November", "December"};
  static const char* const months_short[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  std::string out;
  for (std::size_t i = 0; i < format.size(); ++i) {
    if (format[i] == '%' && i + 1 < format.size()) {
      const char c = format[i + 1];
      std::string piece;
      switch (c) {
        case 'Y': piece = std::to_string(tm.tm_year + 1900); break;
        case 'm': piece = fmt::format("{:02}", tm.tm_mon + 1); break;
        case 'd': piece = fmt::format("{:02}", tm.tm_mday); break;
        case 'b': piece = months_short[tm.tm_mon]; break;
        case 'B': piece = months_long[tm.tm_mon]; break;
        case 'H': piece = fmt::format("{:02}", tm.tm_hour); break;
        case 'M': piece = fmt::format("{:02}", tm.tm_min); break;
        case '%': piece = "%"; break;
        default: out += format[i]; continue;
      }
      out += piece;
      ++i;
      continue;
    }
    out += format[i];
  }
  return out;
}

Value js_result(double x) { return std::floor(x) == x && std::isfinite(x) ? Value::integer(x) : Value::floating(x); }

// A JavaScript function's view of an argument: the runtime value's .value as a number.
double js_number_arg(const Value& v) {
  if (v.is_number()) return v.number;
  if (v.kind == Kind::Boolean) return v.boolean ? 1 : 0;
  if (v.kind == Kind::String) return text::to_number(v.string);
  if (v.kind == Kind::Null) return 0;
  return NAN;
}

// Whether a macro body reads kwargs/varargs (then extra arguments are collected instead of refused).
bool reads_name(const Node& n, const std::string& name) {
  if (n.type == NodeType::Identifier && n.text == name) return true;
  for (const NodePtr* child : {&n.a, &n.b, &n.c})
    if (*child && reads_name(**child, name)) return true;
  for (const auto* list : {&n.list, &n.body, &n.alternate})
    for (const auto& child : *list)
      if (child && reads_name(*child, name)) return true;
  for (const auto& [k, v] : n.pairs)
    if (reads_name(*k, name) || reads_name(*v, name)) return true;
  return false;
}

class Interpreter {
 public:
  explicit Interpreter(long long max_steps) : max_steps_(max_steps) {}

  Value eval(const Node* n, Env& env) {
    if (!n) return Value::undefined();
    if (++depth_ > max_depth) {
      --depth_;
      throw RuntimeError("Maximum recursion depth exceeded", n->offset);
    }
    if (++steps_ > max_steps_) {
      --depth_;
      throw RuntimeError(fmt::format("the template runs too long ({} steps)", max_steps_), n->offset);
    }
    try {
      Value v = eval_node(*n, env);
      --depth_;
      return v;
    } catch (RuntimeError& e) {
      --depth_;
      if (e.offset == RuntimeError::npos) e.offset = n->offset;
      throw;
    } catch (...) {
      --depth_;
      throw;
    }
  }

  std::string block(const std::vector<NodePtr>& statements, Env& env) {
    std::string out;
    for (const auto& s : statements) {
      if (s->type == NodeType::StringLiteral) {
        out += s->text;
        continue;
      }
      const Value v = eval(s.get(), env);
      if (v.kind == Kind::Null || v.kind == Kind::Undefined) continue;
      try {
        out += to_output(v);
        if (out.size() > max_string) raise("the rendered text grows past 64 MiB");
      } catch (RuntimeError& e) {
        if (e.offset == RuntimeError::npos) e.offset = s->offset;
        throw;
      }
    }
    return out;
  }

 private:
  int depth_ = 0;
  long long steps_ = 0;
  long long max_steps_;

  Value eval_node(const Node& n, Env& env) {
    switch (n.type) {
      case NodeType::Program: return Value::str(block(n.body, env));
      case NodeType::Comment: return Value::null();
      case NodeType::Set: return set(n, env);
      case NodeType::If: return Value::str(block(eval(n.a.get(), env).truthy() ? n.body : n.alternate, env));
      case NodeType::For: return for_loop(n, env);
      case NodeType::Macro: return macro(n, env);
      case NodeType::CallStatement: return call_statement(n, env);
      case NodeType::FilterStatement: return filter(Value::str(block(n.body, env)), *n.a, env);
      case NodeType::Break: throw BreakSignal{};
      case NodeType::Continue: throw ContinueSignal{};
      case NodeType::IntegerLiteral: return Value::integer(n.number);
      case NodeType::FloatLiteral: return Value::floating(n.number);
      case NodeType::StringLiteral: return Value::str(n.text);
      case NodeType::ArrayLiteral:
      case NodeType::TupleLiteral: {
        std::vector<Value> items;
        for (const auto& x : n.list) items.push_back(eval(x.get(), env));
        return Value::list(std::move(items), n.type == NodeType::ArrayLiteral ? Kind::Array : Kind::Tuple);
      }
      case NodeType::ObjectLiteral: {
        Object o;
        for (const auto& [k, v] : n.pairs) {
          const Value key = eval(k.get(), env);
          if (key.kind != Kind::String) raise(fmt::format("Object keys must be strings: got {}", kind_name(key.kind)));
          o.set(key.string, eval(v.get(), env));
        }
        return Value::mapping(std::move(o));
      }
      case NodeType::Identifier: return env.lookup(n.text);
      case NodeType::Call: return call(n, env);
      case NodeType::Member: return member(n, env);
      case NodeType::Unary: return unary(n, env);
      case NodeType::Binary: return binary(n, env);
      case NodeType::Filter: return filter(eval(n.a.get(), env), *n.b, env);
      case NodeType::Test: {
        const Value operand = eval(n.a.get(), env);
        if (!has_test(n.text)) raise(fmt::format("Unknown test: {}", n.text));
        return Value::of(run_test(n.text, operand) != n.negate);
      }
      case NodeType::Select:
        return eval(n.b.get(), env).truthy() ? eval(n.a.get(), env) : Value::undefined();
      case NodeType::Ternary: return eval(n.a.get(), env).truthy() ? eval(n.b.get(), env) : eval(n.c.get(), env);
      default: raise("Unexpected node in an expression");
    }
  }

  std::pair<std::vector<Value>, Object> arguments(const std::vector<NodePtr>& args, Env& env) {
    std::vector<Value> positional;
    Object kwargs;
    auto add_keyword = [&](const std::string& key, Value v) {
      if (kwargs.find(key)) raise(fmt::format("Got multiple values for keyword argument '{}'", key));
      kwargs.entries.emplace_back(key, std::move(v));
    };
    for (const auto& a : args) {
      if (a->type == NodeType::Spread) {
        const Value v = eval(a->a.get(), env);
        if (!v.is_array()) raise(fmt::format("Cannot unpack non-iterable type: {}", kind_name(v.kind)));
        for (const Value& x : *v.array) positional.push_back(x);
      } else if (a->type != NodeType::KeywordArgument && a->type != NodeType::KeywordSpread) {
        positional.push_back(eval(a.get(), env));
      }
    }
    for (const auto& a : args) {
      if (a->type == NodeType::KeywordArgument) {
        add_keyword(a->text, eval(a->a.get(), env));
      } else if (a->type == NodeType::KeywordSpread) {
        const Value v = eval(a->a.get(), env);
        if (!v.is_object()) raise(fmt::format("Argument after ** must be a mapping, not {}", kind_name(v.kind)));
        for (const auto& [k, x] : v.object->entries) add_keyword(k, x);
      }
    }
    return {std::move(positional), std::move(kwargs)};
  }

  Value filter(const Value& operand, const Node& f, Env& env) {
    if (f.type == NodeType::Identifier) return apply_filter(f.text, operand);
    if (f.a->type != NodeType::Identifier) raise("Unknown filter");
    const std::string& name = f.a->text;
    if ((name == "selectattr" || name == "rejectattr") && operand.is_array()) {
      for (const Value& item : *operand.array)
        if (!item.has_attributes()) raise(fmt::format("`{}` can only be applied to array of objects", name));
      for (const auto& a : f.list)
        if (a->type != NodeType::StringLiteral) raise(fmt::format("arguments of `{}` must be strings", name));
    }
    auto [positional, kwargs] = arguments(f.list, env);
    return apply_filter(name, operand, positional, kwargs);
  }

  Value call(const Node& n, Env& env) {
    auto [args, kwargs] = arguments(n.list, env);
    if (!kwargs.entries.empty()) args.push_back(Value::mapping(std::move(kwargs), Kind::KeywordArguments));
    const Value fn = eval(n.a.get(), env);
    if (fn.kind != Kind::Function)
      raise(fmt::format("Cannot call something that is not a function: got {}", kind_name(fn.kind)));
    return (*fn.function)(args, env);
  }

  Value slice(const Value& object, const Node& s, Env& env) {
    if (!object.is_array() && object.kind != Kind::String) raise("Slice object must be an array or string");
    const Value start = eval(s.a.get(), env), stop = eval(s.b.get(), env), step = eval(s.c.get(), env);
    for (const auto& [v, what] : {std::pair{&start, "start"}, {&stop, "stop"}, {&step, "step"}})
      if (v->kind != Kind::Integer && v->kind != Kind::Undefined)
        raise(fmt::format("Slice {} must be numeric or undefined", what));
    std::vector<char32_t> chars;
    const double length = object.is_array() ? static_cast<double>(object.array->size())
                                            : static_cast<double>((chars = text::code_points(object.string)).size());
    const double st = step.kind == Kind::Undefined ? 1 : step.number;
    const double direction = st > 0 ? 1 : st < 0 ? -1 : 0;
    double a, b;
    if (direction >= 0) {
      a = start.kind == Kind::Undefined ? 0 : start.number;
      a = a < 0 ? std::max(length + a, 0.0) : std::min(a, length);
      b = stop.kind == Kind::Undefined ? length : stop.number;
      b = b < 0 ? std::max(length + b, 0.0) : std::min(b, length);
    } else {
      a = start.kind == Kind::Undefined ? length - 1 : start.number;
      a = a < 0 ? std::max(length + a, -1.0) : std::min(a, length - 1);
      b = stop.kind == Kind::Undefined ? -1 : stop.number;
      b = b < -1 ? std::max(length + b, -1.0) : std::min(b, length - 1);
    }
    if (st == 0) raise("Slice step cannot be zero");
    std::vector<Value> items;
    std::string picked;
    for (double i = a; direction * i < direction * b; i += st) {
      const auto k = static_cast<std::size_t>(i);
      if (object.is_array()) items.push_back((*object.array)[k]);
      else append_utf8(picked, chars[k]);
    }
    return object.is_array() ? Value::list(std::move(items)) : Value::str(std::move(picked));
  }

  Value member(const Node& n, Env& env) {
    const Value object = eval(n.a.get(), env);
    Value property;
    if (n.computed) {
      if (n.b->type == NodeType::Slice) return slice(object, *n.b, env);
      property = eval(n.b.get(), env);
    } else if (n.b->type == NodeType::IntegerLiteral) {
      property = Value::integer(n.b->number);
    } else {
      property = Value::str(n.b->text);
    }
    if (object.has_attributes()) {
      if (property.kind != Kind::String)
        raise(fmt::format("Cannot access property with non-string: got {}", kind_name(property.kind)));
      if (const Value* v = object.object->find(property.string)) return *v;
      return object.is_object() ? builtin_member(object, property.string) : Value::undefined();
    }
    if (object.is_array() || object.kind == Kind::String) {
      if (property.kind == Kind::Integer) {
        if (!(std::fabs(property.number) < 1e15)) return Value::undefined();
        const auto i = static_cast<long long>(property.number);
        if (object.kind == Kind::String) {
          std::string ch;
          return text::utf16_at(object.string, i, ch) ? Value::str(ch) : Value::undefined();
        }
        const auto size = static_cast<long long>(object.array->size());
        const long long k = i < 0 ? i + size : i;
        return k >= 0 && k < size ? (*object.array)[static_cast<std::size_t>(k)] : Value::undefined();
      }
      if (property.kind == Kind::String) return builtin_member(object, property.string);
      raise(fmt::format("Cannot access property with non-string/non-number: got {}", kind_name(property.kind)));
    }
    if (property.kind != Kind::String)
      raise(fmt::format("Cannot access property with non-string: got {}", kind_name(property.kind)));
    return Value::undefined();
  }

  Value unary(const Node& n, Env& env) {
    const Value v = eval(n.a.get(), env);
    if (n.text == "not") return Value::of(!v.truthy());
    const double sign = n.text == "-" ? -1 : 1;
    if (v.is_number() || v.kind == Kind::Boolean) {
      const double x = v.kind == Kind::Boolean ? (v.boolean ? 1 : 0) : v.number;
      return v.kind == Kind::Float ? Value::floating(sign * x) : Value::integer(sign * x);
    }
    raise(fmt::format("Unknown operator \"{}\" for {}", n.text, kind_name(v.kind)));
  }

  Value binary(const Node& n, Env& env) {
    const std::string& op = n.text;
    const Value left = eval(n.a.get(), env);
    if (op == "and") return left.truthy() ? eval(n.b.get(), env) : left;
    if (op == "or") return left.truthy() ? left : eval(n.b.get(), env);
    const Value right = eval(n.b.get(), env);
    if (op == "==") return Value::of(loose_equal(left, right));
    if (op == "!=") return Value::of(!loose_equal(left, right));
    if (left.kind == Kind::Undefined || right.kind == Kind::Undefined) {
      if (right.kind == Kind::Undefined && (op == "in" || op == "not in")) return Value::of(op == "not in");
      raise(fmt::format("Cannot perform operation {} on undefined values", op));
    }
    if (left.kind == Kind::Null || right.kind == Kind::Null) raise("Cannot perform operation on null values");
    if (op == "~") return checked_string(to_js_string(left) + to_js_string(right));
    const bool left_numeric = left.is_number() || left.kind == Kind::Boolean;
    const bool right_numeric = right.is_number() || right.kind == Kind::Boolean;
    if (op == "**" && left_numeric && right_numeric) {
      const double a = left.kind == Kind::Boolean ? left.boolean : left.number;
      const double b = right.kind == Kind::Boolean ? right.boolean : right.number;
      if (a == 0 && b < 0) raise("0.0 cannot be raised to a negative power");
      const double r = std::pow(a, b);
      if (!std::isfinite(r)) raise("Exponentiation result is not a finite real number");
      const bool is_float = left.kind == Kind::Float || right.kind == Kind::Float || b < 0;
      return is_float ? Value::floating(r) : Value::integer(r);
    }
    if (left.is_number() && right.is_number()) {
      const double a = left.number, b = right.number;
      const bool is_float = left.kind == Kind::Float || right.kind == Kind::Float;
      auto number = [&](double r) { return is_float ? Value::floating(r) : Value::integer(r); };
      if (op == "+") return number(a + b);
      if (op == "-") return number(a - b);
      if (op == "*") return number(a * b);
      if (op == "/") return Value::floating(a / b);
      if (op == "//") return number(std::floor(a / b));
      if (op == "%") return number(std::fmod(a, b));
      if (op == "<") return Value::of(a < b);
      if (op == ">") return Value::of(a > b);
      if (op == ">=") return Value::of(a >= b);
      if (op == "<=") return Value::of(a <= b);
    } else if (left.is_array() && right.is_array()) {
      if (op == "+") {
        std::vector<Value> items = *left.array;
        items.insert(items.end(), right.array->begin(), right.array->end());
        return Value::list(std::move(items));
      }
    } else if (right.is_array()) {
      bool found = false;
      for (const Value& x : *right.array) found = found || strict_equal(x, left);
      if (op == "in") return Value::of(found);
      if (op == "not in") return Value::of(!found);
    }
    if ((left.kind == Kind::String || right.kind == Kind::String) && op == "+")
      return checked_string(to_js_string(left) + to_js_string(right));
    if (left.kind == Kind::String && right.kind == Kind::String) {
      if (op == "in") return Value::of(right.string.find(left.string) != std::string::npos);
      if (op == "not in") return Value::of(right.string.find(left.string) == std::string::npos);
    }
    if (left.kind == Kind::String && right.is_object()) {
      if (op == "in") return Value::of(right.object->find(left.string) != nullptr);
      if (op == "not in") return Value::of(right.object->find(left.string) == nullptr);
    }
    raise(fmt::format("Unknown operator \"{}\" between {} and {}", op, kind_name(left.kind), kind_name(right.kind)));
  }

  Value set(const Node& n, Env& env) {
    const Value rhs = n.b ? eval(n.b.get(), env) : Value::str(block(n.body, env));
    const Node& target = *n.a;
    if (target.type == NodeType::Identifier) {
      env.set(target.text, rhs);
    } else if (target.type == NodeType::TupleLiteral) {
      if (!rhs.is_array()) raise(fmt::format("Cannot unpack non-iterable type in set: {}", kind_name(rhs.kind)));
      if (rhs.array->size() != target.list.size())
        raise(fmt::format("Too {} items to unpack in set", target.list.size() > rhs.array->size() ? "few" : "many"));
      for (std::size_t i = 0; i < target.list.size(); ++i) {
        if (target.list[i]->type != NodeType::Identifier) raise("Cannot unpack to non-identifier in set");
        env.set(target.list[i]->text, (*rhs.array)[i]);
      }
    } else if (target.type == NodeType::Member) {
      const Value object = eval(target.a.get(), env);
      if (object.kind != Kind::Namespace) raise("cannot assign attribute on non-namespace object");
      if (target.b->type != NodeType::Identifier || target.computed)
        raise("Cannot assign to member with non-identifier property");
      object.object->set(target.b->text, rhs);
    } else {
      raise("Invalid LHS inside assignment expression");
    }
    return Value::null();
  }

  // Binds the loop variable(s) to one item in a scope.
  static void bind_loop_variable(const Node& var, const Value& item, Env& scope) {
    if (var.type == NodeType::Identifier) {
      scope.set(var.text, item);
      return;
    }
    if (item.kind != Kind::Array) raise(fmt::format("Cannot unpack non-iterable type: {}", kind_name(item.kind)));
    if (var.list.size() != item.array->size())
      raise(fmt::format("Too {} items to unpack", var.list.size() > item.array->size() ? "few" : "many"));
    for (std::size_t j = 0; j < var.list.size(); ++j) {
      if (var.list[j]->type != NodeType::Identifier)
        raise(fmt::format("Cannot unpack non-identifier type: {}", "expression"));
      scope.set(var.list[j]->text, (*item.array)[j]);
    }
  }

  Value for_loop(const Node& n, Env& env) {
    Env scope(&env);
    const Node* test = nullptr;
    Value iterable;
    if (n.b->type == NodeType::Select) {
      iterable = eval(n.b->a.get(), scope);
      test = n.b->b.get();
    } else {
      iterable = eval(n.b.get(), scope);
    }
    if (!iterable.is_array() && !iterable.is_object())
      raise(fmt::format("Expected iterable or object type in for loop: got {}", kind_name(iterable.kind)));
    std::vector<Value> all;
    if (iterable.is_object()) {
      for (const auto& [k, v] : iterable.object->entries) all.push_back(Value::str(k));
    } else {
      all = *iterable.array;
    }
    std::vector<Value> items;
    for (const Value& current : all) {
      if (current.kind != Kind::Array && n.a->type == NodeType::TupleLiteral)
        raise(fmt::format("Cannot unpack non-iterable type: {}", kind_name(current.kind)));
      if (test) {
        Env loop_scope(&scope);
        bind_loop_variable(*n.a, current, loop_scope);
        if (!eval(test, loop_scope).truthy()) continue;
      }
      items.push_back(current);
    }
    std::string out;
    bool no_iteration = true;
    const double count = static_cast<double>(items.size());
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (++steps_ > max_steps_) throw RuntimeError(fmt::format("the template runs too long ({} steps)", max_steps_), n.offset);
      const double k = static_cast<double>(i);
      Object loop;
      loop.entries = {{"index", Value::integer(k + 1)},
                      {"index0", Value::integer(k)},
                      {"revindex", Value::integer(count - k)},
                      {"revindex0", Value::integer(count - k - 1)},
                      {"first", Value::of(i == 0)},
                      {"last", Value::of(i + 1 == items.size())},
                      {"length", Value::integer(count)},
                      {"previtem", i > 0 ? items[i - 1] : Value::undefined()},
                      {"nextitem", i + 1 < items.size() ? items[i + 1] : Value::undefined()}};
      scope.set("loop", Value::mapping(std::move(loop)));
      bind_loop_variable(*n.a, items[i], scope);
      try {
        out += block(n.body, scope);
      } catch (ContinueSignal&) {
        continue;
      } catch (BreakSignal&) {
        break;
      }
      no_iteration = false;
    }
    if (no_iteration) out += block(n.alternate, scope);
    return Value::str(out);
  }

  // Binds a macro's (or call block's) parameters in its scope, as Python's Jinja does.
  void bind_arguments(const std::string& display_name, const std::vector<NodePtr>& parameters, bool takes_kwargs,
                      bool takes_varargs, std::vector<Value> args, Env& scope) {
    Object keywords;
    if (!args.empty() && args.back().kind == Kind::KeywordArguments) {
      keywords = *args.back().object;
      args.pop_back();
    }
    std::vector<std::pair<std::string, const Node*>> pending_defaults;
    for (std::size_t i = 0; i < parameters.size(); ++i) {
      const Node& p = *parameters[i];
      const std::string& name = p.text;
      const Node* default_value = p.type == NodeType::KeywordArgument ? p.a.get() : nullptr;
      bool bound = i < args.size();
      Value value = bound ? args[i] : Value::undefined();
      if (!bound) {
        for (auto it = keywords.entries.begin(); it != keywords.entries.end(); ++it)
          if (it->first == name) {
            value = it->second;
            bound = true;
            keywords.entries.erase(it);
            break;
          }
      }
      if (!bound && default_value) pending_defaults.emplace_back(name, default_value);
      scope.set(name, value);
    }
    if (takes_kwargs) {
      scope.set("kwargs", Value::mapping(keywords));
    } else if (!keywords.entries.empty()) {
      raise(fmt::format("macro {} takes no keyword argument '{}'", display_name, keywords.entries.front().first));
    }
    if (takes_varargs) {
      std::vector<Value> rest;
      for (std::size_t i = parameters.size(); i < args.size(); ++i) rest.push_back(args[i]);
      scope.set("varargs", Value::list(std::move(rest)));
    } else if (args.size() > parameters.size()) {
      raise(fmt::format("macro {} takes not more than {} argument(s)", display_name, parameters.size()));
    }
    for (const auto& [name, default_value] : pending_defaults) scope.set(name, eval(default_value, scope));
  }

  static bool declares(const std::vector<NodePtr>& parameters, const std::string& name) {
    for (const auto& p : parameters)
      if (p->text == name) return true;
    return false;
  }

  Value macro(const Node& n, Env& env) {
    const Node* node = &n;
    bool takes_kwargs = false, takes_varargs = false;
    for (const auto& s : n.body) {
      takes_kwargs = takes_kwargs || reads_name(*s, "kwargs");
      takes_varargs = takes_varargs || reads_name(*s, "varargs");
    }
    takes_kwargs = takes_kwargs && !declares(n.list, "kwargs");
    takes_varargs = takes_varargs && !declares(n.list, "varargs");
    env.set(n.text, Value::callable([this, node, takes_kwargs, takes_varargs](std::vector<Value>& args, Env& caller) {
      Env scope(&caller);
      bind_arguments("'" + node->text + "'", node->list, takes_kwargs, takes_varargs, args, scope);
      return Value::str(block(node->body, scope));
    }));
    return Value::null();
  }

  Value call_statement(const Node& n, Env& env) {
    bool takes_kwargs = false, takes_varargs = false;
    for (const auto& s : n.body) {
      takes_kwargs = takes_kwargs || reads_name(*s, "kwargs");
      takes_varargs = takes_varargs || reads_name(*s, "varargs");
    }
    const Node* node = &n;
    Env* defining = &env;
    const Value caller = Value::callable([this, node, defining, takes_kwargs, takes_varargs](std::vector<Value>& args, Env&) {
      Env scope(defining);
      bind_arguments("None", node->list, takes_kwargs, takes_varargs, args, scope);
      return Value::str(block(node->body, scope));
    });
    auto [args, kwargs] = arguments(n.a->list, env);
    args.push_back(Value::mapping(std::move(kwargs), Kind::KeywordArguments));
    const Value fn = eval(n.a->a.get(), env);
    if (fn.kind != Kind::Function)
      raise(fmt::format("Cannot call something that is not a function: got {}", kind_name(fn.kind)));
    Env scope(&env);
    scope.set("caller", caller);
    return (*fn.function)(args, scope);
  }
};

}  // namespace

void add_globals(Env& env) {
  env.set("namespace", Value::callable([](std::vector<Value>& args, Env&) {
            std::vector<Value> positional = args;
            Object entries;
            const Object* kwargs = nullptr;
            if (!positional.empty() && positional.back().kind == Kind::KeywordArguments) {
              kwargs = positional.back().object.get();
              positional.pop_back();
            }
            if (positional.size() > 1)
              raise(fmt::format("namespace expected at most 1 argument, got {}", positional.size()));
            if (positional.size() == 1) {
              const Value& source = positional[0];
              if (source.is_object()) {
                for (const auto& [k, v] : source.object->entries) entries.set(k, v);
              } else if (source.is_array()) {
                for (const Value& pair : *source.array) {
                  std::vector<Value> kv;
                  if (pair.is_array()) kv = *pair.array;
                  else if (pair.kind == Kind::String)
                    for (char32_t c : text::code_points(pair.string)) kv.push_back(Value::str(utf8_char(c)));
                  if (kv.size() != 2) raise("namespace expected an object or an iterable of [key, value] pairs");
                  if (kv[0].kind != Kind::String) raise("namespace keys must be strings");
                  entries.set(kv[0].string, kv[1]);
                }
              } else {
                raise(fmt::format("'{}' object is not iterable", kind_name(source.kind)));
              }
            }
            if (kwargs)
              for (const auto& [k, v] : kwargs->entries) entries.set(k, v);
            return Value::mapping(std::move(entries), Kind::Namespace);
          }));
  env.set("false", Value::of(false));
  env.set("true", Value::of(true));
  env.set("none", Value::null());
  env.set("raise_exception", Value::callable([](std::vector<Value>& args, Env&) -> Value {
            throw RuntimeError(args.empty() ? "undefined" : to_js_string(args[0]));
          }));
  env.set("range", Value::callable([](std::vector<Value>& args, Env&) {
            double start = args.size() > 0 ? js_number_arg(args[0]) : NAN;
            double stop = args.size() > 1 && args[1].kind != Kind::Undefined ? js_number_arg(args[1]) : NAN;
            const double step = args.size() > 2 && args[2].kind != Kind::Undefined ? js_number_arg(args[2]) : 1;
            if (args.size() < 2 || args[1].kind == Kind::Undefined) {
              stop = start;
              start = 0;
            }
            if (step == 0) raise("range() step must not be zero");
            if (!(std::fabs((stop - start) / step) < 1e6)) raise("range() is too long (a million items at most)");
            std::vector<Value> out;
            if (step > 0)
              for (double i = start; i < stop; i += step) out.push_back(js_result(i));
            else
              for (double i = start; i > stop; i += step) out.push_back(js_result(i));
            return Value::list(std::move(out));
          }));
  env.set("strftime_now", Value::callable([](std::vector<Value>& args, Env&) {
            return Value::str(strftime_now(args.empty() ? "" : to_js_string(args[0])));
          }));
  env.set("True", Value::of(true));
  env.set("False", Value::of(false));
  env.set("None", Value::null());
}

std::string render_program(const Node& program, Env& env, long long max_steps) {
  Interpreter interpreter(max_steps);
  try {
    return interpreter.eval(&program, env).string;
  } catch (BreakSignal&) {
    throw RuntimeError("break outside a loop", program.offset);
  } catch (ContinueSignal&) {
    throw RuntimeError("continue outside a loop", program.offset);
  }
}

}  // namespace qk::jinja
