#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <unordered_map>
#include <vector>

#include "gw/core/error.hpp"
#include "gw/core/published.hpp"
#include "gw/providers/provider.hpp"

namespace gw::providers {

inline constexpr std::string_view kEchoModel = "echo";

// Where a request's model goes. A null provider means the built-in echo model.
struct Route {
  const Provider* provider = nullptr;
  std::string upstream_model;
  // The model is one the catalog lists (not merely a name a prefix or pattern sent on): safe as a
  // metrics label, since clients cannot invent it.
  bool listed = false;
};

// The configured providers and the models they list. Model lists are replaced wholesale by the
// background refresh (any thread) and read as an immutable snapshot (core::Published: no lock
// the reading threads share).
class ModelCatalog {
 public:
  ModelCatalog(std::vector<std::unique_ptr<Provider>> providers, bool echo_enabled,
               int64_t started_at);

  const std::vector<std::unique_ptr<Provider>>& providers() const { return providers_; }
  const Provider* find_provider(std::string_view name) const;
  bool echo_enabled() const { return echo_enabled_; }

  void set_models(const Provider& provider, std::vector<ModelEntry> models);
  // The model table's names: listed first (owned by "llm-gateway"), hiding a discovered model of
  // the same name. Replaced on reload.
  void set_table_models(std::vector<std::string> names);

  // `provider/model` picks the provider; otherwise listed models (and their aliases) first, then
  // well-known name patterns (gpt-*, o1*, claude-*, ...). 404 model_not_found when nothing fits.
  tl::expected<Route, core::Error> resolve(std::string_view model) const;

  // The models GET /v1/models lists (the echo model first, when on), as clients name them, and
  // the one GET /v1/models/{id} names, if any; `owner` is the provider's name.
  struct PublicModel {
    ModelEntry entry;
    std::string_view owner;
  };
  std::vector<PublicModel> public_models() const;
  std::optional<PublicModel> public_model(std::string_view id) const;

  // GET /v1/models and GET /v1/models/{id}, in OpenAI's format.
  std::string list_json() const;
  std::optional<std::string> model_json(std::string_view id) const;

 private:
  struct Listed {
    std::string public_id;  // unprefixed when unique, else "provider/id"
    std::string model;      // the provider's own id
    size_t provider = 0;
    int64_t created = 0;
  };
  struct Snapshot {
    std::vector<std::vector<ModelEntry>> models;  // by provider index
    std::vector<Listed> listed;
    std::unordered_map<std::string, size_t> by_name;  // name or alias -> index into listed
  };
  // Valid until the calling thread's next read of the same kind (core::Published::read).
  const std::shared_ptr<const Snapshot>& snapshot() const { return snapshot_.read(); }
  const std::shared_ptr<const std::vector<std::string>>& table_models() const {
    return table_models_.read();
  }
  std::optional<size_t> provider_index(std::string_view name) const;

  std::vector<std::unique_ptr<Provider>> providers_;
  bool echo_enabled_;
  int64_t started_at_;
  core::Published<Snapshot> snapshot_;
  core::Published<std::vector<std::string>> table_models_{
      std::make_shared<const std::vector<std::string>>()};
};

// The provider that serves well-known model families ("openai" for gpt-*, ...), if any.
std::string_view provider_for_pattern(std::string_view model);

}  // namespace gw::providers
