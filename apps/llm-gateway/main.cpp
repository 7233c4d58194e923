// llm-gateway's command line: parses flags, loads settings, and hands over to the app layer.
// Wiring only; every behaviour lives in src/gw.

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>

#include "gw/app/config/cluster_config.hpp"
#include "gw/app/config/options.hpp"
#include "gw/app/config/server_config.hpp"
#include "gw/app/controller/controller.hpp"
#include "gw/app/server/server.hpp"
#include "gw/app/worker/worker.hpp"
#include "gw/core/dotenv.hpp"
#include "gw/core/logging.hpp"
#include "gw/core/settings.hpp"
#include "gw/mock/backend.hpp"

#ifdef GW_WITH_MIMALLOC
#include <mimalloc.h>
#endif

namespace {

constexpr int kConfigError = 2;

struct CommandOptions {
  std::map<std::string, std::string> values;  // by variable name
  std::map<std::string, CLI::Option*> options;
  std::map<std::string, std::string> flags;
  std::string env_file;
};

void add_options(CLI::App& command, std::span<const gw::app::OptionSpec> specs,
                 CommandOptions& out) {
  for (const auto& spec : specs) {
    const std::string variable(spec.variable);
    auto* option =
        command.add_option(std::string(spec.flag), out.values[variable],
                           fmt::format("{} [env {}, default: {}]", spec.help, spec.variable,
                                       spec.fallback.empty() ? "none" : spec.fallback));
    out.options[variable] = option;
    out.flags[variable] = std::string(spec.flag);
  }
  command.add_option("--env-file", out.env_file,
                     "read variables from this file instead of ./.env (never overriding the "
                     "environment)");
}

// Flags > environment > .env > defaults.
std::optional<gw::core::Settings> build_settings(const CommandOptions& command) {
  gw::core::EnvEntries entries;
  std::string path = command.env_file;
  if (!path.empty() || std::filesystem::exists(".env")) {
    if (path.empty()) {
      path = ".env";
    }
    auto loaded = gw::core::load_dotenv_file(path);
    if (!loaded) {
      std::fprintf(stderr, "llm-gateway: %s\n", loaded.error().c_str());
      return std::nullopt;
    }
    entries = std::move(*loaded);
  }
  gw::core::Settings settings(gw::core::Settings::process_environment(), entries, path,
                              gw::core::Settings::process_environment_names());
  for (const auto& [variable, option] : command.options) {
    if (option->count() > 0) {
      settings.set_flag(variable, command.flags.at(variable), command.values.at(variable));
    }
  }
  return settings;
}

int config_error(const std::string& message) {
  std::fprintf(stderr, "llm-gateway: %s\n", message.c_str());
  return kConfigError;
}

// Settings, then the command's configuration (exit 2 with a message when invalid), then logging,
// then the command itself.
template <class Load, class Run>
int run_command(const CommandOptions& options, Load load, Run run) {
  auto settings = build_settings(options);
  if (!settings) {
    return kConfigError;
  }
  auto config = load(*settings);
  if (!config) {
    return config_error(config.error());
  }
  gw::core::init_logging(config->log.level, config->log.format);
  return run(*config);
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);  // a client hanging up must not kill the process
#ifdef GW_WITH_MIMALLOC
  // mimalloc returns a page that stayed empty for 25 ms to the OS (madvise), and the next request
  // that needs it takes it back (mprotect, page fault). Between a stream's tokens a gateway idles
  // for tens of milliseconds, so with the default one stream in four paid that on its path: about
  // 84 µs for the madvise alone on the benchmark machine. Memory left after a burst now goes back
  // after a second instead; MIMALLOC_DECOMMIT_DELAY (milliseconds) still overrides this.
  mi_option_set_default(mi_option_decommit_delay, 1000);
#endif

  CLI::App app{"llm-gateway: one OpenAI-compatible API in front of every LLM provider"};
  app.set_version_flag("--version", "llm-gateway " GW_VERSION);
  app.require_subcommand(1);

  CommandOptions server_options;
  auto* server = app.add_subcommand("server", "run the single-process gateway");
  add_options(*server, gw::app::server_options(), server_options);

  CommandOptions mock_options;
  auto* mock = app.add_subcommand(
      "mock-backend", "run a deterministic OpenAI-compatible LLM simulator (tests, load tests)");
  add_options(*mock, gw::app::mock_backend_options(), mock_options);

  CommandOptions controller_options;
  auto* controller = app.add_subcommand(
      "controller", "route requests to the registered workers (distributed mode)");
  add_options(*controller, gw::app::controller_options(), controller_options);

  CommandOptions worker_options;
  auto* worker = app.add_subcommand(
      "worker", "serve one model instance and register it with a controller (distributed mode)");
  add_options(*worker, gw::app::worker_options(), worker_options);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kConfigError;
  }

  if (server->parsed()) {
    return run_command(server_options, gw::app::load_server_config, gw::app::run_server);
  }
  if (controller->parsed()) {
    return run_command(controller_options, gw::app::load_controller_config,
                       gw::app::run_controller);
  }
  if (worker->parsed()) {
    return run_command(worker_options, gw::app::load_worker_config, gw::app::run_worker);
  }
  return run_command(mock_options, gw::mock::load_mock_options, gw::mock::run_mock_backend);
}
