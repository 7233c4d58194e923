#pragma once

#include <span>
#include <string_view>

namespace gw::app {

// A command-line flag and the variable it overrides. One table per command keeps the flags, the
// variables, --help and the README in step.
struct OptionSpec {
  std::string_view flag;      // "--port"
  std::string_view variable;  // "PORT"
  std::string_view fallback;  // the default as shown to users
  std::string_view help;
};

std::span<const OptionSpec> server_options();
std::span<const OptionSpec> controller_options();
std::span<const OptionSpec> worker_options();
std::span<const OptionSpec> mock_backend_options();

}  // namespace gw::app
