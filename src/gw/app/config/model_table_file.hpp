#pragma once

// The model table file (--config / GATEWAY_CONFIG): table models with one or more deployments
// each, their weights and fallbacks, in YAML. Read at start-up and on SIGHUP.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <vector>

#include "gw/app/config/provider_config.hpp"
#include "gw/core/settings.hpp"

namespace gw::app {

// Why a model's request may go down its fallbacks list once no deployment of it can serve.
enum FallbackCause : unsigned {
  kFallbackOnRateLimit = 1,      // 429s, cooldowns
  kFallbackOnError = 2,          // 5xx, connect errors, resets, timeouts, open circuits
  kFallbackOnContextWindow = 4,  // the prompt is too long for the model
  kFallbackOnContentFilter = 8,  // the provider's content filter refused it
};

// Who reads the table: the server (deployments are upstream endpoints) or the controller (whose
// deployments are its registered workers: a model's own, or those of the one model an alias names
// with `{provider: workers, model: <id>}`).
enum class TableReader { kServer, kController };

struct DeploymentConfig {
  std::string name;         // unique within its model: in logs, metrics and x-gateway-deployment
  ProviderConfig provider;  // the upstream's dialect, endpoint and key
  std::string model;        // the upstream's model (Azure: the deployment)
  int64_t weight = 1;
};

// What a stream that breaks off after its first event becomes: its final error event
// (terminate), or the same answer continued by the next deployment or fallback (continue).
enum class StreamFailure { kTerminate, kContinue };

// Sent after the partial answer when a stream is continued elsewhere.
inline constexpr std::string_view kDefaultContinuationInstruction =
    "Continue your previous answer exactly where it stopped, without repeating any of it.";

struct TableModelConfig {
  std::string name;  // the name clients send
  std::vector<DeploymentConfig> deployments;
  std::vector<std::string> fallbacks;  // other table models, tried in order
  unsigned fallbacks_on = kFallbackOnRateLimit | kFallbackOnError;
  StreamFailure on_stream_failure = StreamFailure::kTerminate;
  // A user message after the partial answer; empty: the partial answer alone, as a prefill.
  std::string continuation_instruction{kDefaultContinuationInstruction};
};

struct ModelTableConfig {
  std::string path;
  std::vector<TableModelConfig> models;
};

// A model may have at most this many deployments.
inline constexpr size_t kMaxDeployments = 64;

// Reads and validates the table at `path`. `${VAR}` in a value is replaced by VAR from `settings`
// (the environment, .env). A deployment's `provider` names a dialect (openai, anthropic, azure,
// ollama), a preset (groq, vllm, ...) or a provider configured by the environment
// (PROVIDER_<NAME>_BASE_URL, OPENAI_API_KEY, ...): one of `configured` is the starting point,
// which the deployment's base_url, api_key, api_version and responses_api override. Errors name
// the file, line and key; they never quote a value that may be a secret.
tl::expected<ModelTableConfig, std::string> load_model_table(
    const std::string& path, const core::Settings& settings,
    std::span<const ProviderConfig> configured, TableReader reader = TableReader::kServer);

// The same, from YAML text (`path` only names it in errors).
tl::expected<ModelTableConfig, std::string> parse_model_table(
    const std::string& text, const std::string& path, const core::Settings& settings,
    std::span<const ProviderConfig> configured, TableReader reader = TableReader::kServer);

// The controller's view of a table model: the workers' model that serves it (its own name, or
// the one its alias names).
const std::string& worker_model_of(const TableModelConfig& model);

}  // namespace gw::app
