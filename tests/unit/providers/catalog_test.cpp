#include "gw/providers/catalog.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "gw/providers/common/model_list.hpp"
#include "gw/providers/openai_compatible.hpp"

namespace gw::providers {
namespace {

std::unique_ptr<Provider> provider(std::string name, bool latest_alias = false) {
  return std::make_unique<OpenAICompatibleProvider>(OpenAICompatibleOptions{
      std::move(name), *net::Endpoint::parse("http://127.0.0.1:1/v1"), "", latest_alias});
}

ModelCatalog two_providers(bool echo) {
  std::vector<std::unique_ptr<Provider>> list;
  list.push_back(provider("openai"));
  list.push_back(provider("ollama", true));
  return ModelCatalog(std::move(list), echo, 100);
}

TEST(ModelCatalog, PrefixPicksTheProvider) {
  auto catalog = two_providers(false);
  auto route = catalog.resolve("ollama/llama3");
  ASSERT_TRUE(route.has_value());
  EXPECT_EQ(route->provider->name(), "ollama");
  EXPECT_EQ(route->upstream_model, "llama3");
  // A slash that does not name a provider is part of the model name.
  catalog.set_models(*catalog.find_provider("openai"), {{"meta-llama/Llama-3-8B", 0}});
  route = catalog.resolve("meta-llama/Llama-3-8B");
  ASSERT_TRUE(route.has_value());
  EXPECT_EQ(route->provider->name(), "openai");
  EXPECT_EQ(route->upstream_model, "meta-llama/Llama-3-8B");
}

TEST(ModelCatalog, UnconfiguredKnownProviderIsAClear404) {
  auto catalog = two_providers(false);
  auto route = catalog.resolve("anthropic/claude-3-haiku");
  ASSERT_FALSE(route.has_value());
  EXPECT_EQ(core::http_status(route.error()), 404);
  EXPECT_EQ(core::error_code(route.error()), "model_not_found");
  EXPECT_NE(route.error().message.find("ANTHROPIC_API_KEY"), std::string::npos);
}

TEST(ModelCatalog, ListedModelsAndAliasesResolve) {
  auto catalog = two_providers(false);
  catalog.set_models(*catalog.find_provider("ollama"), {{"llama3:latest", 0}, {"mistral:7b", 0}});
  auto route = catalog.resolve("llama3");
  ASSERT_TRUE(route.has_value());
  EXPECT_EQ(route->provider->name(), "ollama");
  EXPECT_EQ(route->upstream_model, "llama3:latest");
  EXPECT_EQ(catalog.resolve("mistral:7b")->upstream_model, "mistral:7b");
}

TEST(ModelCatalog, PatternsWhenNotListed) {
  auto catalog = two_providers(false);
  EXPECT_EQ(catalog.resolve("gpt-4o-mini")->provider->name(), "openai");
  EXPECT_EQ(catalog.resolve("o3-mini")->provider->name(), "openai");
  // claude-* belongs to anthropic, which is not configured here.
  auto route = catalog.resolve("claude-3-5-sonnet");
  ASSERT_FALSE(route.has_value());
  EXPECT_EQ(core::http_status(route.error()), 404);
}

TEST(ModelCatalog, UnknownModelIs404ModelNotFound) {
  auto catalog = two_providers(true);
  auto route = catalog.resolve("no-such-model");
  ASSERT_FALSE(route.has_value());
  EXPECT_EQ(core::error_code(route.error()), "model_not_found");
}

TEST(ModelCatalog, EchoOnlyWhenEnabled) {
  EXPECT_EQ(two_providers(true).resolve("echo")->provider, nullptr);
  EXPECT_FALSE(two_providers(false).resolve("echo").has_value());
}

TEST(ModelCatalog, ListIsTheUnionWithOwnersAndPrefixedDuplicates) {
  auto catalog = two_providers(true);
  catalog.set_models(*catalog.find_provider("openai"), {{"gpt-4o", 1700000000}, {"shared", 0}});
  catalog.set_models(*catalog.find_provider("ollama"), {{"shared", 0}});
  EXPECT_EQ(catalog.list_json(),
            R"({"object":"list","data":[)"
            R"({"id":"echo","object":"model","created":100,"owned_by":"llm-gateway"},)"
            R"({"id":"gpt-4o","object":"model","created":1700000000,"owned_by":"openai"},)"
            R"({"id":"shared","object":"model","created":100,"owned_by":"openai"},)"
            R"({"id":"ollama/shared","object":"model","created":100,"owned_by":"ollama"}]})");
  EXPECT_EQ(catalog.resolve("ollama/shared")->provider->name(), "ollama");
  EXPECT_EQ(catalog.resolve("shared")->provider->name(), "openai");
  EXPECT_TRUE(catalog.model_json("gpt-4o").has_value());
  EXPECT_TRUE(catalog.model_json("openai/gpt-4o").has_value());
  EXPECT_TRUE(catalog.model_json("ollama/shared").has_value());
  EXPECT_FALSE(catalog.model_json("nope").has_value());
}

TEST(ModelCatalog, RefreshReplacesAProvidersList) {
  auto catalog = two_providers(false);
  const auto& openai = *catalog.find_provider("openai");
  catalog.set_models(openai, {{"old-model", 0}});
  catalog.set_models(openai, {{"new-model", 0}});
  EXPECT_FALSE(catalog.resolve("old-model").has_value());
  EXPECT_TRUE(catalog.resolve("new-model").has_value());
}

}  // namespace
}  // namespace gw::providers

namespace gw::providers {
namespace {

// Anthropic's GET /v1/models: {"data":[{"type":"model",...}],"has_more","first_id","last_id"},
// paged by limit (default 20), after_id and before_id, as its Models API reference describes.
TEST(AnthropicModelList, PagesForwardAndBackward) {
  std::vector<ModelEntry> models;
  for (int i = 0; i < 25; ++i) {
    models.push_back({"m" + std::to_string(i), 86400});
  }
  const auto page = [&](std::string_view query) {
    auto text = anthropic_model_page(models, query);
    EXPECT_TRUE(text.has_value()) << query;
    return text ? boost::json::parse(*text).as_object() : boost::json::object();
  };
  const auto first = page("");
  EXPECT_EQ(first.at("data").as_array().size(), 20u);
  EXPECT_EQ(first.at("data").as_array()[0],
            boost::json::parse(R"({"type":"model","id":"m0","display_name":"m0",)"
                               R"("created_at":"1970-01-02T00:00:00Z"})"));
  EXPECT_EQ(first.at("has_more"), true);
  EXPECT_EQ(first.at("first_id"), "m0");
  EXPECT_EQ(first.at("last_id"), "m19");
  const auto rest = page("limit=10&after_id=m19");
  EXPECT_EQ(rest.at("data").as_array().size(), 5u);
  EXPECT_EQ(rest.at("has_more"), false);
  EXPECT_EQ(rest.at("first_id"), "m20");
  const auto back = page("before_id=m3&limit=2");
  EXPECT_EQ(back.at("first_id"), "m1");
  EXPECT_EQ(back.at("last_id"), "m2");
  EXPECT_EQ(back.at("has_more"), true);
  const auto start = page("before_id=m0");
  EXPECT_TRUE(start.at("data").as_array().empty());
  EXPECT_TRUE(start.at("first_id").is_null());
  EXPECT_EQ(start.at("has_more"), false);
  EXPECT_TRUE(page("after_id=unknown").at("data").as_array().empty());
  EXPECT_TRUE(page("before_id=unknown").at("data").as_array().empty());
  // A creation time in milliseconds is read as such.
  const auto ms = anthropic_model_json({"x", 1'700'000'000'000});
  EXPECT_NE(ms.find("2023-11-14T22:13:20Z"), std::string::npos) << ms;
  for (const std::string_view bad : {"limit=0", "limit=1001", "limit=x", "limit=5x", "limit=-1"}) {
    auto refused = anthropic_model_page(models, bad);
    ASSERT_FALSE(refused.has_value()) << bad;
    EXPECT_EQ(refused.error().param, "limit");
  }
}

}  // namespace
}  // namespace gw::providers
