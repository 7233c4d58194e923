#include "gw/providers/catalog.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <mutex>

#include "gw/core/logging.hpp"

namespace gw::providers {
namespace {

// Provider names known to the gateway; a prefix naming one that is not configured gets a clear
// 404 instead of being taken for part of a model name.
constexpr std::array<std::pair<std::string_view, std::string_view>, 4> kKnownProviders{{
    {"openai", "OPENAI_API_KEY or OPENAI_BASE_URL"},
    {"anthropic", "ANTHROPIC_API_KEY"},
    {"ollama", "OLLAMA_HOST"},
    {"azure", "AZURE_OPENAI_ENDPOINT"},
}};

core::Error model_not_found(std::string_view model) {
  core::Error error(core::Errc::kModelNotFound,
                    fmt::format("The model '{}' does not exist or is not served by any "
                                "configured provider.",
                                model));
  return error;
}

void append_model(std::string& out, std::string_view id, int64_t created,
                  std::string_view owned_by) {
  out += R"({"id":")";
  core::append_json_escaped(out, id);
  fmt::format_to(std::back_inserter(out), R"(","object":"model","created":{},"owned_by":")",
                 created);
  core::append_json_escaped(out, owned_by);
  out += "\"}";
}

}  // namespace

std::string_view provider_for_pattern(std::string_view model) {
  for (std::string_view prefix : {"gpt-", "chatgpt-", "o1", "o3", "o4", "text-embedding-",
                                  "omni-moderation", "davinci-", "babbage-"}) {
    if (model.starts_with(prefix)) {
      return "openai";
    }
  }
  if (model.starts_with("claude-")) {
    return "anthropic";
  }
  return {};
}

ModelCatalog::ModelCatalog(std::vector<std::unique_ptr<Provider>> providers, bool echo_enabled,
                           int64_t started_at)
    : providers_(std::move(providers)), echo_enabled_(echo_enabled), started_at_(started_at) {
  auto empty = std::make_shared<Snapshot>();
  empty->models.resize(providers_.size());
  snapshot_.publish(std::move(empty));
}

std::optional<size_t> ModelCatalog::provider_index(std::string_view name) const {
  for (size_t i = 0; i < providers_.size(); ++i) {
    if (providers_[i]->name() == name) {
      return i;
    }
  }
  return std::nullopt;
}

const Provider* ModelCatalog::find_provider(std::string_view name) const {
  auto index = provider_index(name);
  return index ? providers_[*index].get() : nullptr;
}

void ModelCatalog::set_models(const Provider& provider, std::vector<ModelEntry> models) {
  // Writers are rare (a refresh every few minutes); a mutex keeps concurrent refreshes ordered.
  static std::mutex writer;
  std::lock_guard lock(writer);
  auto index = provider_index(provider.name());
  if (!index) {
    return;
  }
  auto next = std::make_shared<Snapshot>(*snapshot());
  next->models[*index] = std::move(models);
  next->listed.clear();
  next->by_name.clear();
  for (size_t p = 0; p < providers_.size(); ++p) {
    for (const auto& entry : next->models[p]) {
      Listed listed{entry.id, entry.id, p, entry.created != 0 ? entry.created : started_at_};
      if (providers_[p]->lists_prefixed() || next->by_name.contains(entry.id) ||
          (echo_enabled_ && entry.id == kEchoModel)) {
        listed.public_id = fmt::format("{}/{}", providers_[p]->name(), entry.id);
      }
      const size_t at = next->listed.size();
      next->by_name.emplace(listed.public_id, at);
      for (auto& alias : providers_[p]->aliases(entry.id)) {
        next->by_name.emplace(std::move(alias), at);
      }
      next->listed.push_back(std::move(listed));
    }
  }
  snapshot_.publish(std::move(next));
}

tl::expected<Route, core::Error> ModelCatalog::resolve(std::string_view model) const {
  if (echo_enabled_ && model == kEchoModel) {
    return Route{nullptr, std::string(kEchoModel), true};
  }
  if (auto slash = model.find('/'); slash != std::string_view::npos) {
    std::string_view prefix = model.substr(0, slash);
    std::string_view rest = model.substr(slash + 1);
    if (const Provider* provider = find_provider(prefix); provider != nullptr && !rest.empty()) {
      const auto& snap = snapshot();
      const auto& listed = snap->models[*provider_index(prefix)];
      const bool known = std::any_of(listed.begin(), listed.end(), [&](const ModelEntry& entry) {
        const auto aliases = provider->aliases(entry.id);
        return entry.id == rest || std::find(aliases.begin(), aliases.end(), rest) != aliases.end();
      });
      return Route{provider, std::string(rest), known};
    }
    for (const auto& [name, variable] : kKnownProviders) {
      if (prefix == name && find_provider(prefix) == nullptr) {
        return tl::unexpected(
            core::Error(core::Errc::kModelNotFound,
                        fmt::format("The model '{}' needs the {} provider, which is not configured "
                                    "(set {}).",
                                    model, name, variable)));
      }
    }
  }
  const auto& snap = snapshot();
  if (auto it = snap->by_name.find(std::string(model)); it != snap->by_name.end()) {
    const Listed& listed = snap->listed[it->second];
    return Route{providers_[listed.provider].get(), listed.model, true};
  }
  if (auto name = provider_for_pattern(model); !name.empty()) {
    if (const Provider* provider = find_provider(name)) {
      return Route{provider, std::string(model)};
    }
  }
  return tl::unexpected(model_not_found(model));
}

void ModelCatalog::set_table_models(std::vector<std::string> names) {
  auto next = std::make_shared<const std::vector<std::string>>(std::move(names));
  table_models_.publish(std::move(next));
}

std::vector<ModelCatalog::PublicModel> ModelCatalog::public_models() const {
  const auto& snap = snapshot();
  const auto& table = table_models();
  std::vector<PublicModel> out;
  out.reserve(table->size() + snap->listed.size() + 1);
  if (echo_enabled_) {
    out.push_back({{std::string(kEchoModel), started_at_}, "llm-gateway"});
  }
  for (const auto& name : *table) {
    out.push_back({{name, started_at_}, "llm-gateway"});
  }
  for (const auto& listed : snap->listed) {
    if (std::find(table->begin(), table->end(), listed.public_id) == table->end()) {
      out.push_back({{listed.public_id, listed.created}, providers_[listed.provider]->name()});
    }
  }
  return out;
}

std::optional<ModelCatalog::PublicModel> ModelCatalog::public_model(std::string_view id) const {
  if (echo_enabled_ && id == kEchoModel) {
    return PublicModel{{std::string(id), started_at_}, "llm-gateway"};
  }
  if (const auto& table = table_models();
      std::find(table->begin(), table->end(), id) != table->end()) {
    return PublicModel{{std::string(id), started_at_}, "llm-gateway"};
  }
  const auto& snap = snapshot();
  if (auto it = snap->by_name.find(std::string(id)); it != snap->by_name.end()) {
    const Listed& listed = snap->listed[it->second];
    return PublicModel{{std::string(id), listed.created}, providers_[listed.provider]->name()};
  }
  if (auto slash = id.find('/'); slash != std::string_view::npos) {
    auto index = provider_index(id.substr(0, slash));
    std::string_view rest = id.substr(slash + 1);
    if (index) {
      for (const auto& listed : snap->listed) {
        if (listed.provider == *index && listed.model == rest) {
          return PublicModel{{std::string(id), listed.created}, providers_[*index]->name()};
        }
      }
    }
  }
  return std::nullopt;
}

std::string ModelCatalog::list_json() const {
  std::string out = R"({"object":"list","data":[)";
  bool first = true;
  for (const auto& model : public_models()) {
    out += first ? "" : ",";
    first = false;
    append_model(out, model.entry.id, model.entry.created, model.owner);
  }
  out += "]}";
  return out;
}

std::optional<std::string> ModelCatalog::model_json(std::string_view id) const {
  auto model = public_model(id);
  if (!model) {
    return std::nullopt;
  }
  std::string out;
  append_model(out, model->entry.id, model->entry.created, model->owner);
  return out;
}

}  // namespace gw::providers
