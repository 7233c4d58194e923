// app::parse_model_table (gw/app/config/model_table_file.hpp) on the text of a model table, for
// the server and for the controller.
//
// Not a network peer's bytes, but a file an operator edits by hand (and the gateway re-reads when
// it changes). Checks: no crash or sanitizer report; an error names the file ("table_error_names_
// file") and never quotes the value of a ${VAR} ("table_secret"); an accepted table keeps its
// promises ("table_valid"): unique model names, one or more deployments each (server), weights
// 1..1000, unique deployment names per model, fallbacks that are other models of the table.

#include <cstddef>
#include <cstdint>
#include <set>

#include "fuzz_support.hpp"
#include "gw/app/config/model_table_file.hpp"

namespace {

constexpr std::string_view kSecret = "sk-fuzz-secret-value";

const gw::core::Settings& settings() {
  static const gw::core::Settings instance(
      [](const std::string& name) -> std::optional<std::string> {
        if (name == "KEY" || name == "K") {
          return std::string(kSecret);
        }
        return std::nullopt;
      },
      {}, "");
  return instance;
}

void check(const gw::app::ModelTableConfig& table, bool controller) {
  std::set<std::string> names;
  for (const auto& model : table.models) {
    GW_FUZZ_CHECK(!model.name.empty() && names.insert(model.name).second, "table_valid",
                  "model name " + gw::fuzz::printable(model.name));
    GW_FUZZ_CHECK(controller || !model.deployments.empty(), "table_valid",
                  "no deployment for " + gw::fuzz::printable(model.name));
    std::set<std::string> deployments;
    for (const auto& deployment : model.deployments) {
      GW_FUZZ_CHECK(deployment.weight >= 1 && deployment.weight <= 1000, "table_valid",
                    "weight " + std::to_string(deployment.weight));
      GW_FUZZ_CHECK(deployments.insert(deployment.name).second, "table_valid",
                    "deployment name " + gw::fuzz::printable(deployment.name));
      GW_FUZZ_CHECK(!deployment.model.empty(), "table_valid", "an empty upstream model");
    }
  }
  for (const auto& model : table.models) {
    for (const auto& fallback : model.fallbacks) {
      GW_FUZZ_CHECK(fallback != model.name && names.contains(fallback), "table_valid",
                    "fallback " + gw::fuzz::printable(fallback));
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gw::fuzz;
  const std::string text(as_view(data, size));
  for (const auto reader : {gw::app::TableReader::kServer, gw::app::TableReader::kController}) {
    const auto table = gw::app::parse_model_table(text, "models.yaml", settings(), {}, reader);
    if (table) {
      check(*table, reader == gw::app::TableReader::kController);
      continue;
    }
    GW_FUZZ_CHECK(table.error().starts_with("models.yaml"), "table_error_names_file",
                  printable(table.error()));
    // (Unless the file spells it out itself: a key the error names may hold any text.)
    GW_FUZZ_CHECK(
        text.find(kSecret) != std::string::npos || table.error().find(kSecret) == std::string::npos,
        "table_secret", printable(table.error()));
  }
  return 0;
}
