#pragma once

#include "gw/app/config/cluster_config.hpp"

namespace gw::app {

// `llm-gateway controller`: routes the OpenAI API to registered workers. Blocks until
// SIGINT/SIGTERM; returns the process exit code.
int run_controller(const ControllerConfig& config);

}  // namespace gw::app
