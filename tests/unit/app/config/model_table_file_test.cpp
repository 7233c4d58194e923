#include "gw/app/config/model_table_file.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

namespace gw::app {
namespace {

core::Settings settings_with(std::map<std::string, std::string> environment) {
  return core::Settings(
      [environment](const std::string& name) -> std::optional<std::string> {
        auto it = environment.find(name);
        return it == environment.end() ? std::nullopt : std::optional(it->second);
      },
      {}, "");
}

tl::expected<ModelTableConfig, std::string> parse(
    const std::string& text, std::map<std::string, std::string> environment = {},
    std::vector<ProviderConfig> configured = {}) {
  const auto settings = settings_with(std::move(environment));
  return parse_model_table(text, "models.yaml", settings, configured);
}

constexpr const char* kExample = R"(
models:
  - name: gpt-4o
    deployments:
      - provider: azure
        model: gpt-4o-eastus
        base_url: https://east.openai.azure.com
        api_key: ${AZURE_EAST_KEY}
        weight: 2
      - provider: openai
        model: gpt-4o
    fallbacks: [claude-sonnet]
  - name: claude-sonnet
    deployments:
      - provider: anthropic
        model: claude-sonnet-4-5
)";

TEST(ModelTableFile, TheReadmeExample) {
  ProviderConfig openai{ProviderConfig::Kind::kOpenAICompatible, "openai",
                        "https://api.openai.com/v1", "sk-env"};
  auto table = parse(kExample, {{"AZURE_EAST_KEY", "secret-east"}}, {openai});
  ASSERT_TRUE(table) << table.error();
  ASSERT_EQ(table->models.size(), 2U);
  const auto& gpt = table->models[0];
  EXPECT_EQ(gpt.name, "gpt-4o");
  ASSERT_EQ(gpt.deployments.size(), 2U);
  EXPECT_EQ(gpt.deployments[0].name, "azure/gpt-4o-eastus");
  EXPECT_EQ(gpt.deployments[0].provider.kind, ProviderConfig::Kind::kAzure);
  EXPECT_EQ(gpt.deployments[0].provider.base_url, "https://east.openai.azure.com");
  EXPECT_EQ(gpt.deployments[0].provider.api_key, "secret-east");
  EXPECT_EQ(gpt.deployments[0].provider.api_version, "2024-10-21");
  EXPECT_EQ(gpt.deployments[0].weight, 2);
  // The environment's OpenAI provider is the starting point: its key.
  EXPECT_EQ(gpt.deployments[1].provider.api_key, "sk-env");
  EXPECT_EQ(gpt.deployments[1].weight, 1);
  EXPECT_EQ(gpt.fallbacks, std::vector<std::string>{"claude-sonnet"});
  EXPECT_EQ(gpt.fallbacks_on, kFallbackOnRateLimit | kFallbackOnError);
  EXPECT_EQ(table->models[1].deployments[0].provider.base_url, "https://api.anthropic.com");
}

TEST(ModelTableFile, UnnamedDeploymentsOfOneUpstreamAreNumbered) {
  auto table = parse(R"(
models:
  - name: m
    deployments:
      - {provider: vllm, model: llama, base_url: "http://10.0.0.1:8000/v1"}
      - {provider: vllm, model: llama, base_url: "http://10.0.0.2:8000/v1"}
    fallbacks_on: [context_window, error]
)");
  ASSERT_TRUE(table) << table.error();
  EXPECT_EQ(table->models[0].deployments[0].name, "vllm/llama");
  EXPECT_EQ(table->models[0].deployments[1].name, "vllm/llama#2");
  EXPECT_EQ(table->models[0].fallbacks_on, kFallbackOnContextWindow | kFallbackOnError);
  EXPECT_EQ(table->models[0].on_stream_failure, StreamFailure::kTerminate);
  EXPECT_EQ(table->models[0].continuation_instruction, kDefaultContinuationInstruction);
}

TEST(ModelTableFile, BrokenStreamsAreContinuedWhereAModelAsks) {
  auto table = parse(R"(
models:
  - name: m
    deployments: [{provider: openai, model: x}]
    on_stream_failure: continue
    continuation_instruction: ""
)");
  ASSERT_TRUE(table) << table.error();
  EXPECT_EQ(table->models[0].on_stream_failure, StreamFailure::kContinue);
  EXPECT_EQ(table->models[0].continuation_instruction, "");
}

TEST(ModelTableFile, ErrorsNameFileLineAndKey) {
  struct Case {
    const char* text;
    const char* error;
  };
  const Case cases[] = {
      {"models:\n  - name: m\n    deployments:\n      - {provider: openai, model: x, weigth: 2}\n",
       "models.yaml:4:38: models[0].deployments[0].weigth: unknown key"},
      {"models:\n  - name: m\n    deployments:\n      - {provider: nope, model: x}\n",
       "models.yaml:4:20: models[0].deployments[0].provider: unknown provider 'nope'"},
      {"models:\n  - name: m\n    deployments:\n      - {provider: openai, model: x, weight: 0}\n",
       "models.yaml:4:46: models[0].deployments[0].weight: must be a whole number"},
      {"models:\n  - name: m\n    deployments:\n      - {provider: azure, model: x}\n",
       "models.yaml:4:9: models[0].deployments[0].base_url: is required for provider 'azure'"},
      {"models:\n  - name: m\n    deployments: []\n",
       "models.yaml:3:18: models[0].deployments: must be a list of one or more"},
      {"models:\n  - name: m\n    deployments:\n      - {provider: openai, model: x}\n"
       "    fallbacks: [other]\n",
       "models.yaml:5:17: models[0].fallbacks[0]: 'other' is not a model of the table"},
      {"models:\n  - name: m\n    deployments:\n      - {provider: openai, model: x, api_key: "
       "\"${MISSING}\"}\n",
       "models[0].deployments[0].api_key: ${MISSING} is not set"},
      {"models:\n  - name: m\n    deployments:\n      - {provider: openai, model: x}\n"
       "  - name: m\n    deployments:\n      - {provider: openai, model: y}\n",
       "models.yaml:5:11: models[1].name: 'm' is already in the table"},
      {"models: [\n", "models.yaml:2:1: "},
      {"model:\n  - name: m\n", "models.yaml:1:1: the file.model: unknown key"},
      {"models:\n  - name: m\n    deployments:\n      - {provider: openai, model: x, base_url: "
       "\"http://h:8080v1\"}\n",
       "models[0].deployments[0].base_url: 'http://h:8080v1' is not a usable http(s) URL"},
      {"models:\n  - name: m\n    deployments:\n      - {provider: openai, model: x}\n"
       "    fallbacks_on: [quota]\n",
       "models[0].fallbacks_on[0]: must be one of"},
      {"models:\n  - name: m\n    deployments:\n      - {provider: openai, model: x}\n"
       "    on_stream_failure: retry\n",
       "models.yaml:5:24: models[0].on_stream_failure: must be terminate or continue"},
  };
  for (const auto& c : cases) {
    auto table = parse(c.text);
    ASSERT_FALSE(table) << c.text;
    EXPECT_NE(table.error().find(c.error), std::string::npos) << table.error();
  }
}

TEST(ModelTableFile, SecretsAreNeverQuotedInErrors) {
  // Values are quoted as written, before ${VAR} is replaced (the fuzz target found the provider
  // quoted after it).
  for (const char* text :
       {"models:\n  - name: m\n    deployments:\n      - provider: openai\n        model: x\n"
        "        api_key: ${KEY}\n        base_url: ${KEY}\n",
        "models:\n  - name: m\n    deployments:\n      - provider: o ${KEY}\n        model: x\n",
        "models:\n  - name: ${KEY}\n    deployments: [{provider: openai, model: x}]\n"
        "  - name: ${KEY}\n    deployments: [{provider: openai, model: x}]\n"}) {
    auto table = parse(text, {{"KEY", "sk-very-secret"}});
    ASSERT_FALSE(table) << text;
    EXPECT_EQ(table.error().find("sk-very-secret"), std::string::npos) << table.error();
  }
}

TEST(ModelTableFile, AnEmptyFileIsAnEmptyTable) {
  auto table = parse("");
  ASSERT_TRUE(table) << table.error();
  EXPECT_TRUE(table->models.empty());
}

// The README's worked example is a valid table, read as documented.
TEST(ModelTableFile, TheReadmesWorkedExample) {
  std::ifstream readme(std::string(GW_FIXTURES_DIR) + "/../../README.md");
  std::stringstream text;
  text << readme.rdbuf();
  const std::string all = text.str();
  const size_t section = all.find("## The model table");
  ASSERT_NE(section, std::string::npos);
  const size_t begin = all.find("```yaml\n", section);
  const size_t end = all.find("```\n", begin + 8);
  ASSERT_NE(begin, std::string::npos);
  ProviderConfig openai{ProviderConfig::Kind::kOpenAICompatible, "openai",
                        "https://api.openai.com/v1", "sk-env"};
  auto table = parse(all.substr(begin + 8, end - begin - 8),
                     {{"AZURE_EAST_KEY", "east"}, {"AZURE_WEST_KEY", "west"}}, {openai});
  ASSERT_TRUE(table) << table.error();
  ASSERT_EQ(table->models.size(), 3U);
  const auto& gpt = table->models[0];
  ASSERT_EQ(gpt.deployments.size(), 3U);
  EXPECT_EQ(gpt.deployments[0].name, "azure-east");
  EXPECT_EQ(gpt.deployments[0].weight, 2);
  EXPECT_EQ(gpt.deployments[1].provider.api_key, "west");
  EXPECT_EQ(gpt.deployments[2].name, "openai/gpt-4o");
  EXPECT_EQ(gpt.deployments[2].provider.api_key, "sk-env");
  EXPECT_EQ(gpt.fallbacks, std::vector<std::string>{"claude-sonnet"});
  EXPECT_EQ(table->models[2].deployments[0].provider.base_url, "https://api.groq.com/openai/v1");
}

TEST(ModelTableFile, TheControllersModelsAreItsWorkersModels) {
  const core::Settings settings;
  auto table = parse_model_table(R"(
models:
  - name: llama3
    fallbacks: [mistral]
  - name: mistral
  - name: fast
    deployments: [{provider: workers, model: mistral}]
)",
                                 "models.yaml", settings, {}, TableReader::kController);
  ASSERT_TRUE(table) << table.error();
  EXPECT_EQ(worker_model_of(table->models[0]), "llama3");
  EXPECT_EQ(worker_model_of(table->models[2]), "mistral");
  EXPECT_EQ(table->models[0].fallbacks, std::vector<std::string>{"mistral"});

  const char* refused[][2] = {
      {"models:\n  - name: m\n    deployments: [{provider: openai, model: x}]\n",
       "models.yaml:3:30: models[0].deployments[0].provider: the controller's deployments are "
       "its workers"},
      {"models:\n  - name: m\n    deployments: [{provider: workers, model: a}, {provider: "
       "workers, model: b}]\n",
       "models[0].deployments: the controller's models have one deployment at most"},
      {"models:\n  - name: m\n    deployments: [{provider: workers, model: a, weight: 2}]\n",
       "models[0].deployments[0].weight: unknown key"},
      {"models:\n  - name: m\n    on_stream_failure: continue\n",
       "models[0].on_stream_failure: only `server` continues a broken stream"},
  };
  for (const auto& [text, error] : refused) {
    auto result = parse_model_table(text, "models.yaml", settings, {}, TableReader::kController);
    ASSERT_FALSE(result) << text;
    EXPECT_NE(result.error().find(error), std::string::npos) << result.error();
  }
  // And the server has no workers.
  auto server =
      parse_model_table("models:\n  - name: m\n    deployments: [{provider: workers, model: x}]\n",
                        "models.yaml", settings, {});
  ASSERT_FALSE(server);
  EXPECT_NE(server.error().find("only the controller routes to workers"), std::string::npos);
}

TEST(ModelTableFile, AMissingFileIsAnError) {
  const core::Settings settings;
  auto table = load_model_table("/nonexistent/models.yaml", settings, {});
  ASSERT_FALSE(table);
  EXPECT_NE(table.error().find("/nonexistent/models.yaml: cannot be read"), std::string::npos);
}

}  // namespace
}  // namespace gw::app
