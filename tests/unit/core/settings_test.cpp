#include "gw/core/settings.hpp"

#include <gtest/gtest.h>

#include <map>

namespace gw::core {
namespace {

Settings::EnvLookup fake_env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) {
      return std::nullopt;
    }
    return it->second;
  };
}

TEST(Settings, FlagBeatsEnvironmentBeatsDotenv) {
  Settings settings(fake_env({{"PORT", "8001"}, {"HOST", "10.0.0.1"}}),
                    {{"PORT", "8002"}, {"HOST", "10.0.0.2"}, {"LOG_LEVEL", "debug"}}, ".env");
  settings.set_flag("PORT", "--port", "8000");
  EXPECT_EQ(settings.get("PORT")->value, "8000");
  EXPECT_EQ(settings.get("PORT")->origin, "--port");
  EXPECT_EQ(settings.get("HOST")->value, "10.0.0.1");
  EXPECT_EQ(settings.get("HOST")->origin, "environment variable HOST");
  EXPECT_EQ(settings.get("LOG_LEVEL")->value, "debug");
  EXPECT_EQ(settings.get("LOG_LEVEL")->origin, "LOG_LEVEL in .env");
  EXPECT_FALSE(settings.get("NOPE").has_value());
}

TEST(Settings, LaterDotenvLinesWin) {
  Settings settings(fake_env({}), {{"A", "1"}, {"A", "2"}}, ".env");
  EXPECT_EQ(settings.get("A")->value, "2");
}

TEST(ConfigReader, DefaultsWhenUnset) {
  Settings settings(fake_env({}), {}, "");
  ConfigReader reader(settings);
  EXPECT_EQ(reader.port("PORT", 8000), 8000);
  EXPECT_EQ(reader.seconds("T", 1.5), std::chrono::milliseconds(1500));
  EXPECT_TRUE(reader.boolean("B", true));
  EXPECT_EQ(reader.http_url("U", "http://x"), "http://x");
  EXPECT_FALSE(reader.error().has_value());
}

TEST(ConfigReader, ErrorNamesTheOriginAndValue) {
  Settings settings(fake_env({{"PORT", "abc"}}), {}, "");
  ConfigReader reader(settings);
  reader.port("PORT", 8000);
  ASSERT_TRUE(reader.error().has_value());
  EXPECT_NE(reader.error()->find("'abc'"), std::string::npos) << *reader.error();
  EXPECT_NE(reader.error()->find("environment variable PORT"), std::string::npos);
}

TEST(ConfigReader, RejectsOutOfRangeAndBadValues) {
  struct Case {
    std::string name, value;
  };
  for (const auto& c : std::vector<Case>{{"PORT", "70000"}, {"PORT", "-1"}, {"PORT", "80x"}}) {
    Settings settings(fake_env({{c.name, c.value}}), {}, "");
    ConfigReader reader(settings);
    reader.port(c.name, 8000);
    EXPECT_TRUE(reader.error().has_value()) << c.value;
  }
  for (const auto& value : {"0", "-2", "abc", "1e99", "nan"}) {
    Settings settings(fake_env({{"T", value}}), {}, "");
    ConfigReader reader(settings);
    reader.seconds("T", 1);
    EXPECT_TRUE(reader.error().has_value()) << value;
  }
  for (const auto& value : {"notaurl", "ftp://h", "http://", "http://h:99999", "http://h?q=1"}) {
    Settings settings(fake_env({{"U", value}}), {}, "");
    ConfigReader reader(settings);
    reader.http_url("U", "");
    EXPECT_TRUE(reader.error().has_value()) << value;
  }
  Settings settings(fake_env({{"L", "loud"}}), {}, "");
  ConfigReader reader(settings);
  reader.choice("L", "info", {"info", "debug"});
  EXPECT_TRUE(reader.error().has_value());
}

TEST(ConfigReader, AcceptsValidValues) {
  Settings settings(fake_env({{"PORT", "0"},
                              {"T", "0.25"},
                              {"B", "off"},
                              {"U", "https://api.example.com/v1/"},
                              {"L", "DEBUG"}}),
                    {}, "");
  ConfigReader reader(settings);
  EXPECT_EQ(reader.port("PORT", 8000), 0);
  EXPECT_EQ(reader.seconds("T", 1), std::chrono::milliseconds(250));
  EXPECT_FALSE(reader.boolean("B", true));
  EXPECT_EQ(reader.http_url("U", ""), "https://api.example.com/v1");
  EXPECT_EQ(reader.choice("L", "info", {"info", "debug"}), "debug");
  EXPECT_FALSE(reader.error().has_value()) << *reader.error();
}

TEST(ConfigReader, KeepsTheFirstError) {
  Settings settings(fake_env({{"A", "x"}, {"B", "y"}}), {}, "");
  ConfigReader reader(settings);
  reader.integer("A", 0, 0, 10);
  reader.integer("B", 0, 0, 10);
  EXPECT_NE(reader.error()->find("variable A"), std::string::npos);
}

}  // namespace
}  // namespace gw::core
