#include "gw/app/config/server_config.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <tuple>

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

TEST(ServerConfig, OllamaOnlyWhenHostIsSetNativeByDefault) {
  auto native = load_server_config(env({{"OLLAMA_HOST", "http://gpu:11434"}}));
  ASSERT_EQ(native->providers.size(), 1u);
  EXPECT_EQ(native->providers[0].name, "ollama");
  EXPECT_EQ(native->providers[0].kind, ProviderConfig::Kind::kOllama);
  EXPECT_EQ(native->providers[0].base_url, "http://gpu:11434");
  auto compatible =
      load_server_config(env({{"OLLAMA_HOST", "http://gpu:11434"}, {"OLLAMA_API", "openai"}}));
  EXPECT_EQ(compatible->providers[0].kind, ProviderConfig::Kind::kOpenAICompatible);
  EXPECT_EQ(compatible->providers[0].base_url, "http://gpu:11434/v1");
  EXPECT_TRUE(load_server_config(env({})).value().providers.empty());
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

core::Settings env_with_names(std::map<std::string, std::string> vars) {
  auto names = [vars] {
    std::vector<std::string> out;
    for (const auto& [name, value] : vars) {
      out.push_back(name);
    }
    return out;
  };
  return core::Settings(
      [vars](const std::string& name) -> std::optional<std::string> {
        auto it = vars.find(name);
        return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
      },
      {}, ".env", names);
}

const ProviderConfig* find(const ServerConfig& config, std::string_view name) {
  for (const auto& p : config.providers) {
    if (p.name == name) {
      return &p;
    }
  }
  return nullptr;
}

TEST(ServerConfig, AnthropicAndAzure) {
  auto config = load_server_config(env({{"ANTHROPIC_API_KEY", "sk-ant"},
                                        {"ANTHROPIC_MAX_TOKENS", "1024"},
                                        {"AZURE_OPENAI_ENDPOINT", "https://res.openai.azure.com"},
                                        {"AZURE_OPENAI_API_KEY", "az"},
                                        {"AZURE_OPENAI_DEPLOYMENTS", "a, b"}}));
  ASSERT_TRUE(config.has_value()) << config.error();
  const auto* anthropic = find(*config, "anthropic");
  ASSERT_NE(anthropic, nullptr);
  EXPECT_EQ(anthropic->kind, ProviderConfig::Kind::kAnthropic);
  EXPECT_EQ(anthropic->base_url, "https://api.anthropic.com");
  EXPECT_EQ(anthropic->default_max_tokens, 1024);
  const auto* azure = find(*config, "azure");
  ASSERT_NE(azure, nullptr);
  EXPECT_EQ(azure->api_version, "2024-10-21");
  EXPECT_EQ(azure->deployments, (std::vector<std::string>{"a", "b"}));
}

TEST(ServerConfig, PresetsAndNamedOpenAICompatibleProviders) {
  auto config =
      load_server_config(env_with_names({{"GROQ_API_KEY", "gsk"},
                                         {"VLLM_BASE_URL", "http://gpu:8000/v1"},
                                         {"MISTRAL_BASE_URL", "http://proxy/v1"},
                                         {"PROVIDER_MYLAB_BASE_URL", "http://lab:9000/v1"},
                                         {"PROVIDER_MYLAB_API_KEY", "lab-key"}}));
  ASSERT_TRUE(config.has_value()) << config.error();
  ASSERT_NE(find(*config, "groq"), nullptr);
  EXPECT_EQ(find(*config, "groq")->base_url, "https://api.groq.com/openai/v1");
  EXPECT_EQ(find(*config, "groq")->api_key, "gsk");
  EXPECT_EQ(find(*config, "vllm")->base_url, "http://gpu:8000/v1");
  EXPECT_EQ(find(*config, "mistral")->base_url, "http://proxy/v1");
  ASSERT_NE(find(*config, "mylab"), nullptr);
  EXPECT_EQ(find(*config, "mylab")->base_url, "http://lab:9000/v1");
  EXPECT_EQ(find(*config, "mylab")->api_key, "lab-key");
  // A local server preset without its URL stays off.
  EXPECT_EQ(find(*config, "llamacpp"), nullptr);
  EXPECT_FALSE(config->echo_enabled);
}

TEST(ServerConfig, AnthropicMaxTokensDefaultsTo4096) {
  auto config = load_server_config(env({{"ANTHROPIC_API_KEY", "sk-ant"}}));
  ASSERT_TRUE(config.has_value()) << config.error();
  const auto* anthropic = find(*config, "anthropic");
  ASSERT_NE(anthropic, nullptr);
  EXPECT_EQ(anthropic->default_max_tokens, 4096);
}

TEST(ServerConfig, HostedPresetsUseTheDocumentedBaseUrls) {
  // The URLs of docs/providers.md ("Preset base URLs"); a key alone turns each one on.
  const std::vector<std::tuple<std::string, std::string, std::string>> documented{
      {"groq", "GROQ_API_KEY", "https://api.groq.com/openai/v1"},
      {"mistral", "MISTRAL_API_KEY", "https://api.mistral.ai/v1"},
      {"deepseek", "DEEPSEEK_API_KEY", "https://api.deepseek.com/v1"},
      {"together", "TOGETHER_API_KEY", "https://api.together.xyz/v1"},
      {"openrouter", "OPENROUTER_API_KEY", "https://openrouter.ai/api/v1"},
      {"fireworks", "FIREWORKS_API_KEY", "https://api.fireworks.ai/inference/v1"},
      {"xai", "XAI_API_KEY", "https://api.x.ai/v1"},
  };
  for (const auto& [name, key_variable, url] : documented) {
    auto config = load_server_config(env({{key_variable, "k-" + name}}));
    ASSERT_TRUE(config.has_value()) << config.error();
    ASSERT_EQ(config->providers.size(), 1u) << name;
    const auto& provider = config->providers[0];
    EXPECT_EQ(provider.name, name);
    EXPECT_EQ(provider.kind, ProviderConfig::Kind::kOpenAICompatible) << name;
    EXPECT_EQ(provider.base_url, url) << name;
    EXPECT_EQ(provider.api_key, "k-" + name);
  }
  // No hosted preset goes undocumented.
  size_t hosted = 0;
  for (const auto& preset : provider_presets()) {
    if (!preset.base_url.empty()) {
      ++hosted;
      EXPECT_TRUE(std::any_of(documented.begin(), documented.end(), [&](const auto& row) {
        return std::get<0>(row) == preset.name;
      })) << preset.name;
    }
  }
  EXPECT_EQ(hosted, documented.size());
}

TEST(ServerConfig, LocalPresetsNeedTheirUrlAndTakeAnOptionalKey) {
  for (const std::string name : {"vllm", "llamacpp", "lmstudio"}) {
    std::string upper = name;
    std::transform(upper.begin(), upper.end(), upper.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    auto keyless = load_server_config(env({{upper + "_BASE_URL", "http://gpu:8000/v1"}}));
    ASSERT_TRUE(keyless.has_value()) << keyless.error();
    ASSERT_NE(find(*keyless, name), nullptr) << name;
    EXPECT_EQ(find(*keyless, name)->base_url, "http://gpu:8000/v1");
    EXPECT_TRUE(find(*keyless, name)->api_key.empty()) << name;
    auto keyed = load_server_config(
        env({{upper + "_BASE_URL", "http://gpu:8000/v1"}, {upper + "_API_KEY", "local-key"}}));
    ASSERT_NE(find(*keyed, name), nullptr) << name;
    EXPECT_EQ(find(*keyed, name)->api_key, "local-key");
    // A key without a URL: there is no default URL to use, so the preset stays off.
    auto url_less = load_server_config(env({{upper + "_API_KEY", "local-key"}}));
    ASSERT_TRUE(url_less.has_value()) << url_less.error();
    EXPECT_EQ(find(*url_less, name), nullptr) << name;
  }
}

TEST(ServerConfig, NamedProviderMustNotClash) {
  auto clash = load_server_config(
      env_with_names({{"PROVIDER_OPENAI_BASE_URL", "http://x/v1"}, {"OPENAI_API_KEY", "k"}}));
  ASSERT_FALSE(clash.has_value());
  EXPECT_NE(clash.error().find("PROVIDER_OPENAI_BASE_URL"), std::string::npos);
  auto bad = load_server_config(env_with_names({{"PROVIDER_MY.LAB_BASE_URL", "http://x/v1"}}));
  ASSERT_FALSE(bad.has_value());
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
           {"ANTHROPIC_BASE_URL", "api.anthropic.com"},
           {"ANTHROPIC_MAX_TOKENS", "0"},
           {"AZURE_OPENAI_ENDPOINT", "nope"},
           {"GROQ_BASE_URL", "ftp://x"},
       }) {
    auto config = load_server_config(env({{name, value}}));
    ASSERT_FALSE(config.has_value()) << name << "=" << value;
    EXPECT_NE(config.error().find(name), std::string::npos) << config.error();
    EXPECT_NE(config.error().find(value), std::string::npos) << config.error();
  }
}

}  // namespace
}  // namespace gw::app
