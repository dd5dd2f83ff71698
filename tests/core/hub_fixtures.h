// Test helpers: the Hub-shaped model directories tests/data/make_hub_models.py writes (tests/data/hub/) and
// their goldens, shared by the core and the server tests.
#ifndef QKV_TESTS_CORE_HUB_FIXTURES_H_
#define QKV_TESTS_CORE_HUB_FIXTURES_H_

#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace qkv {
namespace testing_util {

// tests/data/hub/<family>; its goldens are HubDir(family) + ".goldens.json".
inline std::string HubDir(const std::string& family) {
  return absl::StrCat(QKV_SOURCE_DIR, "/tests/data/hub/", family);
}

// The JSON file at `path`; throws (failing the test) when it is missing or malformed.
inline nlohmann::json ReadJson(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return nlohmann::json::parse(text.str());
}

}  // namespace testing_util
}  // namespace qkv

#endif  // QKV_TESTS_CORE_HUB_FIXTURES_H_
