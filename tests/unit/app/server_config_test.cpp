#include "gw/app/server_config.hpp"

#include <gtest/gtest.h>

#include <map>

namespace gw::app {
namespace {

core::Settings env(std::map<std::string, std::string> vars) {
  return core::Settings(
      [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
        auto it = vars.find(name);
        return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
      },
      {}, ".env");
}

TEST(ServerConfig, DefaultsServeEchoOnly) {
  auto config = load_server_config(env({}));
  ASSERT_TRUE(config.has_value()) << config.error();
  EXPECT_EQ(config->http.host, "0.0.0.0");
  EXPECT_EQ(config->http.port, 8000);
  EXPECT_EQ(config->http.max_body_bytes, 32u << 20);
  EXPECT_EQ(config->timeouts.connect, std::chrono::seconds(10));
  EXPECT_EQ(config->timeouts.first_byte, std::chrono::seconds(300));
  EXPECT_EQ(config->timeouts.idle, std::chrono::seconds(120));
  EXPECT_TRUE(config->providers.empty());
  EXPECT_TRUE(config->echo_enabled);
  EXPECT_TRUE(config->api_keys.empty());
}

TEST(ServerConfig, OpenAIByKeyOrBaseUrl) {
  auto by_key = load_server_config(env({{"OPENAI_API_KEY", "sk-1"}}));
  ASSERT_EQ(by_key->providers.size(), 1u);
  EXPECT_EQ(by_key->providers[0].base_url, "https://api.openai.com/v1");
  EXPECT_FALSE(by_key->echo_enabled);
  auto by_url = load_server_config(
      env({{"OPENAI_BASE_URL", "http://127.0.0.1:9/v1/"}, {"ENABLE_ECHO_MODEL", "1"}}));
  ASSERT_EQ(by_url->providers.size(), 1u);
  EXPECT_EQ(by_url->providers[0].base_url, "http://127.0.0.1:9/v1");
  EXPECT_TRUE(by_url->echo_enabled);
}

TEST(ServerConfig, OllamaOnlyWhenHostIsSet) {
  auto config = load_server_config(env({{"OLLAMA_HOST", "http://gpu:11434"}}));
  ASSERT_EQ(config->providers.size(), 1u);
  EXPECT_EQ(config->providers[0].name, "ollama");
  EXPECT_EQ(config->providers[0].base_url, "http://gpu:11434/v1");
}

TEST(ServerConfig, GatewayKeysAreAList) {
  auto config = load_server_config(env({{"GATEWAY_API_KEYS", "a, b ,c"}}));
  EXPECT_EQ(config->api_keys, (std::vector<std::string>{"a", "b", "c"}));
}

TEST(ServerConfig, ProxiesLowerCaseFirst) {
  auto config = load_server_config(env({{"HTTPS_PROXY", "http://upper:1"},
                                        {"https_proxy", "lower:3128"},
                                        {"NO_PROXY", "localhost,.corp"}}));
  ASSERT_TRUE(config.has_value()) << config.error();
  ASSERT_TRUE(config->proxies.https_proxy.has_value());
  EXPECT_EQ(config->proxies.https_proxy->host, "lower");
  EXPECT_EQ(config->proxies.no_proxy, (std::vector<std::string>{"localhost", ".corp"}));
}

TEST(ServerConfig, InvalidValuesNameTheVariable) {
  for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{
           {"PORT", "abc"},
           {"PORT", "65536"},
           {"LOG_LEVEL", "loud"},
           {"LOG_FORMAT", "xml"},
           {"OPENAI_BASE_URL", "not a url"},
           {"OLLAMA_HOST", "localhost:11434"},
           {"UPSTREAM_CONNECT_TIMEOUT", "-1"},
           {"MAX_REQUEST_BYTES", "0"},
           {"GATEWAY_THREADS", "0"},
           {"ENABLE_ECHO_MODEL", "maybe"},
           {"HTTPS_PROXY", "https://tls-proxy:443"},
           {"GATEWAY_API_KEYS", " , "},
       }) {
    auto config = load_server_config(env({{name, value}}));
    ASSERT_FALSE(config.has_value()) << name << "=" << value;
    EXPECT_NE(config.error().find(name), std::string::npos) << config.error();
    EXPECT_NE(config.error().find(value), std::string::npos) << config.error();
  }
}

}  // namespace
}  // namespace gw::app
