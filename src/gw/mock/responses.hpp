#pragma once

#include "gw/mock/backend.hpp"
#include "gw/mock/common.hpp"
#include "gw/net/http_types.hpp"

namespace gw::mock {

// POST /v1/responses, OpenAI's Responses API (and Azure's /openai/v1/responses, where the model is
// a deployment): the last user message echoed word by word (--tokens N, max_output_tokens at most,
// then status "incomplete"), function calls when the request offers function tools and ends with
// a user message, "Tool said: ..." after a function_call_output. A `response` object, or the
// documented event stream (`event:` lines, increasing sequence_number, no [DONE]) ending with
// response.completed or response.incomplete. Top-level fields outside the documented set are
// refused, as OpenAI does. `options` and `stats` live as long as the server; `exchange` outlives
// the coroutine.
net::Task<void> serve_openai_responses(const MockOptions& options, MockStats& stats,
                                       net::Exchange& exchange, bool azure = false);

// POST /v1/responses/input_tokens: {"object":"response.input_tokens","input_tokens":N}, N the
// words of the instructions, messages and tool outputs. Only the endpoint's documented fields,
// and items, parts and tools in the Responses shapes, are accepted. (input_tokens.cpp)
net::Task<void> serve_openai_input_tokens(MockStats& stats, net::Exchange& exchange);

}  // namespace gw::mock
