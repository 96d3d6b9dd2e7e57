// Typed access to tokenizer.json fields; every failure names the file and the field.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace qk::tok {

std::string string_field(const nlohmann::json& object, const char* key, const std::string& where);
std::optional<std::string> optional_string_field(const nlohmann::json& object, const char* key,
                                                 const std::string& where);
bool bool_field(const nlohmann::json& object, const char* key, const std::string& where, bool fallback);
std::int64_t int_field(const nlohmann::json& object, const char* key, const std::string& where);
const nlohmann::json& array_field(const nlohmann::json& object, const char* key, const std::string& where);
const nlohmann::json& object_field(const nlohmann::json& object, const char* key, const std::string& where);

}  // namespace qk::tok
