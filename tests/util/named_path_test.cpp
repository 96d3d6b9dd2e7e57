// NAME=PATH values of --run / --compare: split at the first '=', refused without a name or a path.
#include <gtest/gtest.h>

#include "util/error.hpp"
#include "util/named_path.hpp"

namespace {

TEST(NamedPath, SplitsAtTheFirstEquals) {
  const qk::NamedPath run = qk::parse_named_path("base=out/a=b", "--run", "DIR", "a folder");
  EXPECT_EQ(run.name, "base");
  EXPECT_EQ(run.path, "out/a=b");
}

TEST(NamedPath, RefusesAMissingNameOrPathNamingTheOption) {
  for (const char* spec : {"out/base", "=out/base", "base="}) {
    SCOPED_TRACE(spec);
    try {
      qk::parse_named_path(spec, "--compare", "PATH", "predictions JSONL");
      FAIL() << "accepted";
    } catch (const qk::Error& e) {
      EXPECT_EQ(e.kind(), qk::ErrorKind::Usage);
      EXPECT_EQ(std::string(e.what()), std::string("--compare '") + spec + "' must be NAME=PATH (predictions JSONL)");
    }
  }
}

}  // namespace
