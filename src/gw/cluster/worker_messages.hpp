#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>

#include "gw/api/completion_json.hpp"
#include "gw/cluster/registry.hpp"
#include "gw/core/error.hpp"

namespace gw::cluster {

// The JSON bodies a worker sends to the controller's internal API. Fields not named here are
// ignored; ids and URLs are non-empty, at most kMaxIdLength bytes and free of control characters
// (they reach log lines, metric labels and error messages). Errors are 400s naming the field.
inline constexpr size_t kMaxIdLength = 256;

// POST /internal/workers/register: worker_id, model_id, url; capacity (default 10, at least 1)
// and current_load (default 0).
tl::expected<Registration, core::Error> parse_registration(std::string_view body);

// POST /internal/workers/heartbeat: worker_id; current_load (default 0); draining, when a boolean.
struct Heartbeat {
  std::string worker_id;
  int64_t current_load = 0;
  std::optional<bool> draining;
};
tl::expected<Heartbeat, core::Error> parse_heartbeat(std::string_view body);

// Set (to "1") on a worker's 429 when the worker itself is at capacity, as opposed to a 429 its
// backend sent: the controller then waits for the slot instead of giving up on the worker. Its
// own count of the worker's requests can drop before the worker's does (a stream whose client
// left ends at the controller at once, at the worker only when it next writes).
inline constexpr std::string_view kWorkerFullHeader = "x-llm-gateway-worker-full";

// Between the controller and a worker, on plain (not streamed) chat requests. The controller asks
// with "1"; the worker's 2xx then carries "<prompt tokens> <completion tokens>" when it knows both:
// it checked the completion (as every gateway checks an upstream's) and read them. The controller
// relays that body without checking it again; without the header (a worker that did not know
// the counts), it checks the body as any upstream's.
inline constexpr std::string_view kCheckedUsageHeader = "x-llm-gateway-checked-usage";
inline std::string checked_usage_value(const api::Usage& usage) {
  return std::to_string(usage.prompt_tokens) + ' ' + std::to_string(usage.completion_tokens);
}

// Between the controller and a worker, on chat and legacy completion streams, with "1": send the
// stream's usage chunk (the controller counts its tokens) whether or not the client's body asks
// for it. The body passes the hop as the client wrote it, so the worker knows the client's own
// wish too; the controller keeps the chunk from a client that did not ask.
inline constexpr std::string_view kStreamUsageHeader = "x-llm-gateway-stream-usage";
std::optional<api::Usage> parse_checked_usage(std::string_view value);

}  // namespace gw::cluster
