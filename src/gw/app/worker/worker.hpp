#pragma once

#include "gw/app/config/cluster_config.hpp"

namespace gw::app {

// `llm-gateway worker`: serves one model instance, registered with a controller. Blocks until
// SIGINT/SIGTERM (deregisters, then drains); returns the process exit code.
int run_worker(const WorkerConfig& config);

}  // namespace gw::app
