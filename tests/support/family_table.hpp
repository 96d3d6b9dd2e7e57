// A one-family architecture table that FamilyTable must refuse: the error names the file and `needle`.
#pragma once
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "arch/profile.hpp"
#include "util/error.hpp"

namespace qk::test {

inline void expect_table_error(const std::string& family_json, const std::string& needle) {
  const auto table = nlohmann::json::parse(R"({"families": {"x": )" + family_json + "}}");
  try {
    FamilyTable::from_json(table, "my.json");
    ADD_FAILURE() << "accepted " << family_json;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("my.json"), std::string::npos) << e.what();
  }
}

}  // namespace qk::test
