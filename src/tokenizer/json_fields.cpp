#include "tokenizer/json_fields.hpp"

#include "util/error.hpp"

namespace qk::tok {
namespace {

const nlohmann::json& required(const nlohmann::json& object, const char* key, const std::string& where) {
  if (!object.is_object()) fail(ErrorKind::Format, "{}: expected an object holding '{}'", where, key);
  auto it = object.find(key);
  if (it == object.end()) fail(ErrorKind::Format, "{}: missing field '{}'", where, key);
  return *it;
}

}  // namespace

std::string string_field(const nlohmann::json& object, const char* key, const std::string& where) {
  const auto& value = required(object, key, where);
  if (!value.is_string()) fail(ErrorKind::Format, "{}: field '{}' must be a string", where, key);
  return value.get<std::string>();
}

std::optional<std::string> optional_string_field(const nlohmann::json& object, const char* key,
                                                 const std::string& where) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) fail(ErrorKind::Format, "{}: field '{}' must be a string or null", where, key);
  return it->get<std::string>();
}

bool bool_field(const nlohmann::json& object, const char* key, const std::string& where, bool fallback) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) fail(ErrorKind::Format, "{}: field '{}' must be true or false", where, key);
  return it->get<bool>();
}

std::int64_t int_field(const nlohmann::json& object, const char* key, const std::string& where) {
  const auto& value = required(object, key, where);
  if (!value.is_number_integer()) fail(ErrorKind::Format, "{}: field '{}' must be an integer", where, key);
  return value.get<std::int64_t>();
}

const nlohmann::json& array_field(const nlohmann::json& object, const char* key, const std::string& where) {
  const auto& value = required(object, key, where);
  if (!value.is_array()) fail(ErrorKind::Format, "{}: field '{}' must be an array", where, key);
  return value;
}

const nlohmann::json& object_field(const nlohmann::json& object, const char* key, const std::string& where) {
  const auto& value = required(object, key, where);
  if (!value.is_object()) fail(ErrorKind::Format, "{}: field '{}' must be an object", where, key);
  return value;
}

}  // namespace qk::tok
