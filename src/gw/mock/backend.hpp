#pragma once

#include <chrono>
#include <string>
#include <tl/expected.hpp>
#include <vector>

#include "gw/core/logging.hpp"
#include "gw/core/settings.hpp"

namespace gw::mock {

struct MockOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 9000;
  size_t threads = 1;
  core::LogConfig log;
  std::vector<std::string> models{"mock-model"};
  std::string api_key;
  std::chrono::milliseconds ttft{0};
  std::chrono::milliseconds token_delay{0};
  std::chrono::milliseconds first_event_delay{0};  // streams: after the head, before any event
  int64_t tokens = 0;
  int fail_status = 0;
  std::string retry_after;
  int64_t cut_after = 0;
  int64_t stall_after = 0;
  // Anthropic dialect, streams: a 200 whose first event is an `error` of this type (e.g.
  // overloaded_error), as Anthropic sends under load; empty: never.
  std::string stream_error;
  bool strict = false;  // OpenAI dialect: refuse stream_options (an older strict server)
  // Streams: every event and the end in one write after the head (as a fast local server's
  // answer arrives); token delays do not apply.
  bool whole_stream = false;
};

tl::expected<MockOptions, std::string> load_mock_options(const core::Settings& settings);

// `llm-gateway mock-backend`: a deterministic OpenAI-compatible LLM simulator with fault
// injection, for tests, benchmarks and users' load tests. Returns the exit code.
int run_mock_backend(const MockOptions& options);

}  // namespace gw::mock
