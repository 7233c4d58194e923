#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <vector>

#include "gw/mock/backend.hpp"
#include "gw/mock/common.hpp"
#include "gw/net/http_types.hpp"

// The mock backend's Anthropic Messages API dialect, in the wire format of
// https://docs.anthropic.com/en/api/messages and .../messages-streaming.
namespace gw::mock {

// Anthropic clients always send one of these; OpenAI clients never do.
bool is_anthropic_client(const net::Request& request);

// Anthropic's error body {"type":"error","error":{"type","message"}}, its type chosen by status.
net::Response anthropic_error(int status, std::string_view message);

// The 401 to send when --api-key is set and the request's x-api-key does not match it.
std::optional<net::Response> anthropic_auth_failure(const MockOptions& options,
                                                    const net::Request& request);

// GET /v1/models in Anthropic's list format.
net::Response anthropic_models(const std::vector<std::string>& models);

// What a valid Messages request asks for, read before anything is sent.
struct AnthropicRequest {
  std::string model;
  int64_t max_tokens = 0;
  bool stream = false;
  std::string text;                // the answer's text when no tools are called
  std::vector<std::string> calls;  // names of the tools to call (tool_use blocks), in order
  std::string tool_input;          // every tool_use block's input, as JSON text
  int64_t input_tokens = 0;        // words across the system prompt and all messages
  int64_t cache_read_tokens = 0;
};

// Validates a Messages body (`count_tokens`: a token-counting body, which has no max_tokens,
// stream or stop_sequences); the error is the message of a 400 invalid_request_error.
tl::expected<AnthropicRequest, std::string> read_anthropic_request(std::string_view body,
                                                                   bool count_tokens = false);

// POST /v1/messages. `options` and `stats` live as long as the server; `exchange` outlives the
// coroutine.
net::Task<void> serve_anthropic_messages(const MockOptions& options, MockStats& stats,
                                         net::Exchange& exchange);

// POST /v1/messages/count_tokens: {"input_tokens": N}, N counted as for a message's usage.
net::Task<void> serve_anthropic_count_tokens(const MockOptions& options, MockStats& stats,
                                             net::Exchange& exchange);

}  // namespace gw::mock
