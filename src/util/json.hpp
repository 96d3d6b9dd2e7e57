// The one strict JSON entry point. Every JSON file and every number written as text (an object key,
// a layer index in a tensor name, a CLI list) is read through here, so that a hostile value (1e400,
// 2^63, a huge index, a wrong type, a duplicate key) is an Error(Format) naming the file and the
// field, never an nlohmann or std::sto* exception escaping as an "internal error".
//
// `where` is always "FILE" or "FILE: FIELD.PATH", and each message starts with it.
#pragma once
#include <cstdint>
#include <filesystem>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/error.hpp"

namespace qk {

// Parses `text`, refusing duplicate keys: nlohmann (like Python's json) silently keeps the last of two
// equal keys, which in a header, index or config hides which value is meant (two dtypes for a tensor,
// two model_types). A number too large for a double (1e400) is refused too. tokenizer.json alone keeps
// the last of two keys, as the tokenizers library (serde_json maps) does, for id-for-id parity.
enum class DuplicateKeys { Refuse, LastWins };
nlohmann::json parse_json(std::string_view text, const std::string& where, DuplicateKeys duplicates = DuplicateKeys::Refuse);

// The file's text through parse_json, naming the path (Error(Io) when it cannot be read).
nlohmann::json read_json_file(const std::filesystem::path& path);

// One value as T: bool, an integer type (exact and in T's range: 2^63 is no int64_t, 1.0 no integer),
// a floating type, std::string, or a std::vector of these. Anything else is Error(Format) "WHERE: ...".
template <typename T>
T json_as(const nlohmann::json& value, const std::string& where);

// A field as T, required, or `fallback` when it is missing or null; "WHERE: field 'KEY'" in errors.
template <typename T>
T field(const nlohmann::json& object, const char* key, const std::string& where);
template <typename T>
T field_or(const nlohmann::json& object, const char* key, const std::string& where, T fallback);
template <typename T>
std::optional<T> optional_field(const nlohmann::json& object, const char* key, const std::string& where);

const nlohmann::json& required_field(const nlohmann::json& object, const char* key, const std::string& where);
const nlohmann::json& array_field(const nlohmann::json& object, const char* key, const std::string& where);
const nlohmann::json& object_field(const nlohmann::json& object, const char* key, const std::string& where);
inline std::string string_field(const nlohmann::json& object, const char* key, const std::string& where) {
  return field<std::string>(object, key, where);
}
inline std::optional<std::string> optional_string_field(const nlohmann::json& object, const char* key, const std::string& where) {
  return optional_field<std::string>(object, key, where);
}
inline bool bool_field(const nlohmann::json& object, const char* key, const std::string& where, bool fallback) {
  return field_or<bool>(object, key, where, fallback);
}
inline std::int64_t int_field(const nlohmann::json& object, const char* key, const std::string& where) {
  return field<std::int64_t>(object, key, where);
}
inline double number_field(const nlohmann::json& object, const char* key, const std::string& where, double fallback) {
  return field_or<double>(object, key, where, fallback);
}
// An array element or map value holding a layer index (0 to INT_MAX).
int json_layer_index(const nlohmann::json& value, const std::string& where);

// Integer text (decimal unless `base` says otherwise), all of it, within [min, max]: an object key like
// "3", a CLI list item, the digits of a tensor name, a template's \u escape. Throws Error(kind)
// "WHERE: 'TEXT' is not an integer from MIN to MAX".
std::int64_t parse_int(std::string_view text, const std::string& where, std::int64_t min = std::numeric_limits<std::int64_t>::min(),
                       std::int64_t max = std::numeric_limits<std::int64_t>::max(), ErrorKind kind = ErrorKind::Format, int base = 10);
// Decimal number text, all of it, finite: "0.5", "1e3".
double parse_number(std::string_view text, const std::string& where, ErrorKind kind = ErrorKind::Format);
// A layer index: parse_int from 0 to INT_MAX.
int parse_layer_index(std::string_view text, const std::string& where, ErrorKind kind = ErrorKind::Format);

// The layer index of a tensor named "PREFIX.<digits>.<rest>", nullopt when the name has no such
// form; digits too large for an int are an Error(Format) "WHERE: tensor 'NAME' ...".
std::optional<int> layer_index_in_name(std::string_view name, std::string_view prefix, const std::string& where);

namespace json_detail {
[[noreturn]] void wrong_type(const nlohmann::json& value, const std::string& where, const char* expected);
[[noreturn]] void out_of_range(const nlohmann::json& value, const std::string& where);
template <typename T> struct is_vector : std::false_type {};
template <typename T> struct is_vector<std::vector<T>> : std::true_type {};
}  // namespace json_detail

template <typename T>
T json_as(const nlohmann::json& value, const std::string& where) {
  if constexpr (std::is_same_v<T, bool>) {
    if (!value.is_boolean()) json_detail::wrong_type(value, where, "true or false");
    return value.get<bool>();
  } else if constexpr (std::is_integral_v<T>) {
    if (!value.is_number_integer()) json_detail::wrong_type(value, where, "an integer");
    if (value.is_number_unsigned()) {
      const auto v = value.get<std::uint64_t>();
      if (!std::in_range<T>(v)) json_detail::out_of_range(value, where);
      return static_cast<T>(v);
    }
    const auto v = value.get<std::int64_t>();
    if (!std::in_range<T>(v)) json_detail::out_of_range(value, where);
    return static_cast<T>(v);
  } else if constexpr (std::is_floating_point_v<T>) {
    if (!value.is_number()) json_detail::wrong_type(value, where, "a number");
    return value.get<T>();
  } else if constexpr (std::is_same_v<T, std::string>) {
    if (!value.is_string()) json_detail::wrong_type(value, where, "a string");
    return value.get<std::string>();
  } else {
    static_assert(json_detail::is_vector<T>::value, "json_as: bool, integers, floating point, std::string or std::vector");
    if (!value.is_array()) json_detail::wrong_type(value, where, "an array");
    T out;
    for (std::size_t i = 0; i < value.size(); ++i)
      out.push_back(json_as<typename T::value_type>(value[i], fmt::format("{}[{}]", where, i)));
    return out;
  }
}

template <typename T>
std::optional<T> optional_field(const nlohmann::json& object, const char* key, const std::string& where) {
  if (!object.is_object()) json_detail::wrong_type(object, where, "an object");
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::nullopt;
  return json_as<T>(*it, fmt::format("{}: field '{}'", where, key));
}

template <typename T>
T field(const nlohmann::json& object, const char* key, const std::string& where) {
  return json_as<T>(required_field(object, key, where), fmt::format("{}: field '{}'", where, key));
}

template <typename T>
T field_or(const nlohmann::json& object, const char* key, const std::string& where, T fallback) {
  auto value = optional_field<T>(object, key, where);
  return value ? std::move(*value) : std::move(fallback);
}

}  // namespace qk
