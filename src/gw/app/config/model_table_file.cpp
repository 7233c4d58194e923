#include "gw/app/config/model_table_file.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <set>
#include <sstream>
#include <system_error>

#include "gw/core/logging.hpp"
#include "gw/core/parse.hpp"
#include "gw/net/endpoint.hpp"

namespace gw::app {
namespace {

// Thrown inside the reader only, caught at its entry: a message naming file, line and key.
struct TableError {
  std::string message;
};

class TableParser {
 public:
  TableParser(std::string path, const core::Settings& settings,
              std::span<const ProviderConfig> configured, TableReader reader)
      : path_(std::move(path)),
        settings_(settings),
        configured_(configured),
        controller_(reader == TableReader::kController) {}

  ModelTableConfig read(const YAML::Node& root) {
    ModelTableConfig table{path_, {}};
    if (root.IsNull()) {
      return table;  // an empty file: no table models
    }
    expect_map(root, "the file");
    check_keys(root, "the file", {"models"});
    const YAML::Node models = root["models"];
    if (!models) {
      return table;
    }
    if (!models.IsSequence()) {
      fail(models, "models", "must be a list of models");
    }
    std::set<std::string> names;
    for (size_t i = 0; i < models.size(); ++i) {
      auto model = read_model(models[i], fmt::format("models[{}]", i));
      if (!names.insert(model.name).second) {
        fail(models[i]["name"], fmt::format("models[{}].name", i),
             fmt::format("'{}' is already in the table", as_written(models[i]["name"])));
      }
      table.models.push_back(std::move(model));
    }
    for (size_t i = 0; i < table.models.size(); ++i) {
      const auto& model = table.models[i];
      for (size_t f = 0; f < model.fallbacks.size(); ++f) {
        const auto& fallback = model.fallbacks[f];
        const std::string key = fmt::format("models[{}].fallbacks[{}]", i, f);
        if (fallback == model.name) {
          fail(models[i]["fallbacks"][f], key, "a model cannot fall back to itself");
        }
        if (!names.contains(fallback)) {
          fail(models[i]["fallbacks"][f], key,
               fmt::format("'{}' is not a model of the table",
                           as_written(models[i]["fallbacks"][f])));
        }
      }
    }
    return table;
  }

 private:
  [[noreturn]] void fail(const YAML::Node& node, std::string_view key, std::string_view why) const {
    const auto mark = node ? node.Mark() : YAML::Mark::null_mark();
    if (mark.is_null()) {
      throw TableError{fmt::format("{}: {}: {}", path_, key, why)};
    }
    throw TableError{
        fmt::format("{}:{}:{}: {}: {}", path_, mark.line + 1, mark.column + 1, key, why)};
  }

  // A value as the file spells it, for an error: before ${VAR} is replaced (the variable's value
  // may be a secret), cut short.
  static std::string as_written(const YAML::Node& node) {
    return node.IsScalar() ? core::bounded_text(node.Scalar(), 64) : std::string();
  }

  void expect_map(const YAML::Node& node, std::string_view key) const {
    if (!node.IsMap()) {
      fail(node, key, "must be a mapping of keys to values");
    }
  }

  // Unknown keys are mistakes (a misspelt `weigth` silently ignored is a deployment that never
  // gets its share): refused, naming the keys that are known.
  void check_keys(const YAML::Node& map, std::string_view key,
                  std::initializer_list<std::string_view> known) const {
    for (auto it = map.begin(); it != map.end(); ++it) {
      const std::string name = it->first.IsScalar() ? it->first.Scalar() : std::string();
      if (std::find(known.begin(), known.end(), name) == known.end()) {
        fail(it->first, fmt::format("{}.{}", key, core::bounded_text(name, 64)),
             fmt::format("unknown key (known: {})", fmt::join(known, ", ")));
      }
    }
  }

  // A scalar with ${VAR} replaced from the environment / .env.
  std::string text(const YAML::Node& node, std::string_view key) const {
    if (!node.IsScalar()) {
      fail(node, key, "must be a single value");
    }
    const std::string& raw = node.Scalar();
    std::string out;
    size_t at = 0;
    while (at < raw.size()) {
      const size_t open = raw.find("${", at);
      if (open == std::string::npos) {
        out.append(raw, at);
        break;
      }
      out.append(raw, at, open - at);
      const size_t close = raw.find('}', open + 2);
      if (close == std::string::npos) {
        fail(node, key, "'${' without its closing '}'");
      }
      const std::string variable = raw.substr(open + 2, close - open - 2);
      auto setting = settings_.get(variable);
      if (variable.empty() || !setting) {
        fail(node, key,
             fmt::format("${{{}}} is not set (in the environment or .env)",
                         core::bounded_text(variable, 64)));
      }
      out += setting->value;
      at = close + 1;
    }
    return out;
  }

  std::string required_text(const YAML::Node& map, std::string_view field,
                            std::string_view key) const {
    const YAML::Node node = map[std::string(field)];
    const std::string full = fmt::format("{}.{}", key, field);
    if (!node) {
      fail(map, full, "is required");
    }
    std::string value = text(node, full);
    if (value.empty()) {
      fail(node, full, "must not be empty");
    }
    return value;
  }

  std::vector<std::string> names(const YAML::Node& node, std::string_view key) const {
    if (!node.IsSequence()) {
      fail(node, key, "must be a list");
    }
    std::vector<std::string> out;
    for (size_t i = 0; i < node.size(); ++i) {
      out.push_back(text(node[i], fmt::format("{}[{}]", key, i)));
    }
    return out;
  }

  TableModelConfig read_model(const YAML::Node& node, const std::string& key) {
    expect_map(node, key);
    check_keys(node, key,
               {"name", "deployments", "fallbacks", "fallbacks_on", "on_stream_failure",
                "continuation_instruction"});
    TableModelConfig model;
    model.name = required_text(node, "name", key);
    const YAML::Node deployments = node["deployments"];
    const std::string deployments_key = key + ".deployments";
    if (!deployments && controller_) {
      return read_fallbacks(node, key, std::move(model));  // served by its own workers
    }
    if (!deployments) {
      fail(node, deployments_key, "is required (one or more)");
    }
    if (!deployments.IsSequence() || deployments.size() == 0) {
      fail(deployments, deployments_key, "must be a list of one or more deployments");
    }
    if (controller_ && deployments.size() > 1) {
      fail(deployments, deployments_key,
           "the controller's models have one deployment at most: {provider: workers, model: ...}");
    }
    if (deployments.size() > kMaxDeployments) {
      fail(deployments, deployments_key,
           fmt::format("at most {} deployments per model", kMaxDeployments));
    }
    std::set<std::string> deployment_names;
    for (size_t i = 0; i < deployments.size(); ++i) {
      auto deployment = read_deployment(deployments[i], fmt::format("{}[{}]", deployments_key, i));
      if (deployments[i]["name"]) {
        if (!deployment_names.insert(deployment.name).second) {
          fail(deployments[i]["name"], fmt::format("{}[{}].name", deployments_key, i),
               fmt::format("'{}' is already a deployment of this model",
                           as_written(deployments[i]["name"])));
        }
      } else {
        // Unnamed: "<provider>/<model>", numbered when that is taken.
        const std::string base = deployment.name;
        for (int n = 2; !deployment_names.insert(deployment.name).second; ++n) {
          deployment.name = fmt::format("{}#{}", base, n);
        }
      }
      model.deployments.push_back(std::move(deployment));
    }
    return read_fallbacks(node, key, std::move(model));
  }

  TableModelConfig read_fallbacks(const YAML::Node& node, const std::string& key,
                                  TableModelConfig model) const {
    if (const YAML::Node fallbacks = node["fallbacks"]) {
      model.fallbacks = names(fallbacks, key + ".fallbacks");
    }
    if (const YAML::Node causes = node["fallbacks_on"]) {
      model.fallbacks_on = 0;
      const auto listed = names(causes, key + ".fallbacks_on");
      for (size_t i = 0; i < listed.size(); ++i) {
        model.fallbacks_on |=
            cause(causes[i], fmt::format("{}.fallbacks_on[{}]", key, i), listed[i]);
      }
    }
    return read_stream_failure(node, key, std::move(model));
  }

  TableModelConfig read_stream_failure(const YAML::Node& node, const std::string& key,
                                       TableModelConfig model) const {
    if (const YAML::Node policy = node["on_stream_failure"]) {
      const std::string policy_key = key + ".on_stream_failure";
      const std::string value = text(policy, policy_key);
      if (value == "continue") {
        if (controller_) {
          fail(policy, policy_key,
               "only `server` continues a broken stream; the controller terminates it");
        }
        model.on_stream_failure = StreamFailure::kContinue;
      } else if (value != "terminate") {
        fail(policy, policy_key, "must be terminate or continue");
      }
    }
    if (const YAML::Node instruction = node["continuation_instruction"]) {
      model.continuation_instruction = text(instruction, key + ".continuation_instruction");
    }
    return model;
  }

  unsigned cause(const YAML::Node& node, std::string_view key, std::string_view name) const {
    if (name == "rate_limit") {
      return kFallbackOnRateLimit;
    }
    if (name == "error") {
      return kFallbackOnError;
    }
    if (name == "context_window") {
      return kFallbackOnContextWindow;
    }
    if (name == "content_filter") {
      return kFallbackOnContentFilter;
    }
    fail(node, key, "must be one of rate_limit, error, context_window, content_filter");
  }

  DeploymentConfig read_deployment(const YAML::Node& node, const std::string& key) {
    expect_map(node, key);
    if (controller_) {
      check_keys(node, key, {"provider", "model"});
      if (required_text(node, "provider", key) != "workers") {
        fail(node["provider"], key + ".provider",
             "the controller's deployments are its workers: provider: workers");
      }
      DeploymentConfig workers;
      workers.model = required_text(node, "model", key);
      workers.name = workers.model;
      return workers;
    }
    check_keys(node, key,
               {"name", "provider", "model", "base_url", "api_key", "api_version", "weight",
                "responses_api"});
    DeploymentConfig deployment;
    const std::string provider = core::ascii_lower(required_text(node, "provider", key));
    deployment.provider = starting_point(node["provider"], key + ".provider", provider);
    deployment.model = required_text(node, "model", key);
    deployment.name = node["name"] ? required_text(node, "name", key)
                                   : fmt::format("{}/{}", provider, deployment.model);
    auto& config = deployment.provider;
    if (const YAML::Node url = node["base_url"]) {
      auto normalized = core::normalize_http_url(text(url, key + ".base_url"));
      if (!normalized) {
        fail(url, key + ".base_url", normalized.error());
      }
      // What the adapter will parse (stricter: a port followed by a path without '/', ...); its
      // message would quote the value, which ${VAR} may have filled with a secret.
      if (!net::Endpoint::parse(*normalized)) {
        fail(url, key + ".base_url",
             fmt::format("'{}' is not a usable http(s) URL", as_written(url)));
      }
      config.base_url = std::move(*normalized);
    }
    if (config.base_url.empty()) {
      fail(node, key + ".base_url",
           fmt::format("is required for provider '{}'", as_written(node["provider"])));
    }
    if (const YAML::Node api_key = node["api_key"]) {
      config.api_key = text(api_key, key + ".api_key");
    }
    if (const YAML::Node version = node["api_version"]) {
      if (config.kind != ProviderConfig::Kind::kAzure) {
        fail(version, key + ".api_version", "applies to provider azure only");
      }
      config.api_version = required_text(node, "api_version", key);
    }
    if (const YAML::Node responses = node["responses_api"]) {
      auto value = core::parse_bool(text(responses, key + ".responses_api"));
      if (!value) {
        fail(responses, key + ".responses_api", "must be true or false");
      }
      if (*value && config.kind != ProviderConfig::Kind::kOpenAICompatible &&
          config.kind != ProviderConfig::Kind::kAzure) {
        fail(responses, key + ".responses_api",
             "only OpenAI-compatible and Azure providers serve the Responses API");
      }
      config.responses_api = *value;
    }
    if (const YAML::Node weight = node["weight"]) {
      auto value = core::parse_int(text(weight, key + ".weight"));
      if (!value || *value < 1 || *value > 1000) {
        fail(weight, key + ".weight", "must be a whole number from 1 to 1000");
      }
      deployment.weight = *value;
    }
    return deployment;
  }

  // What a deployment of `provider` starts from before its own keys: the provider the
  // environment configured under that name, else the dialect's or preset's defaults.
  ProviderConfig starting_point(const YAML::Node& node, const std::string& key,
                                const std::string& provider) const {
    for (const auto& configured : configured_) {
      if (configured.name == provider) {
        ProviderConfig config = configured;
        config.deployments.clear();  // Azure's listing: a table deployment names its own
        return config;
      }
    }
    using Kind = ProviderConfig::Kind;
    if (provider == "openai") {
      return {Kind::kOpenAICompatible,
              "openai",
              "https://api.openai.com/v1",
              "",
              false,
              4096,
              {},
              {},
              true};
    }
    if (provider == "anthropic") {
      return {Kind::kAnthropic, "anthropic", "https://api.anthropic.com", ""};
    }
    if (provider == "azure") {
      ProviderConfig azure{Kind::kAzure, "azure", "", ""};
      azure.api_version = "2024-10-21";
      azure.responses_api = true;
      return azure;
    }
    if (provider == "ollama") {
      return {Kind::kOllama, "ollama", "http://localhost:11434", ""};
    }
    if (provider == "workers") {
      fail(node, key, "only the controller routes to workers");
    }
    for (const auto& preset : provider_presets()) {
      if (preset.name == provider) {
        return {Kind::kOpenAICompatible, provider, std::string(preset.base_url), ""};
      }
    }
    fail(node, key,
         fmt::format("unknown provider '{}' (openai, anthropic, azure, ollama, a preset such as "
                     "groq or vllm, or one named by PROVIDER_<NAME>_BASE_URL)",
                     as_written(node)));
  }

  std::string path_;
  const core::Settings& settings_;
  std::span<const ProviderConfig> configured_;
  bool controller_;
};

}  // namespace

const std::string& worker_model_of(const TableModelConfig& model) {
  return model.deployments.empty() ? model.name : model.deployments.front().model;
}

tl::expected<ModelTableConfig, std::string> parse_model_table(
    const std::string& text, const std::string& path, const core::Settings& settings,
    std::span<const ProviderConfig> configured, TableReader reader) {
  try {
    const YAML::Node root = YAML::Load(text);
    return TableParser(path, settings, configured, reader).read(root);
  } catch (const TableError& error) {
    return tl::unexpected(error.message);
  } catch (const YAML::Exception& error) {
    if (error.mark.is_null()) {
      return tl::unexpected(fmt::format("{}: {}", path, error.msg));
    }
    return tl::unexpected(
        fmt::format("{}:{}:{}: {}", path, error.mark.line + 1, error.mark.column + 1, error.msg));
  }
}

tl::expected<ModelTableConfig, std::string> load_model_table(
    const std::string& path, const core::Settings& settings,
    std::span<const ProviderConfig> configured, TableReader reader) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return tl::unexpected(
        fmt::format("{}: cannot be read ({})", path, std::generic_category().message(errno)));
  }
  std::ostringstream text;
  text << file.rdbuf();
  return parse_model_table(text.str(), path, settings, configured, reader);
}

}  // namespace gw::app
