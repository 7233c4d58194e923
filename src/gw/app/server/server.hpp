#pragma once

#include "gw/app/config/server_config.hpp"

namespace gw::app {

// `llm-gateway server`: binds, serves until SIGINT/SIGTERM, drains. Returns the exit code.
int run_server(const ServerConfig& config);

}  // namespace gw::app
