#pragma once

#include "gw/app/mock_backend.hpp"
#include "gw/app/mock_common.hpp"
#include "gw/net/http_types.hpp"

namespace gw::app::mock {

// POST /v1/chat/completions in OpenAI's dialect: an echo of the last user message, word by word
// (JSON or SSE), tool calls when the request offers tools, and "Tool said: ..." after a tool
// result. `options` and `stats` live as long as the server; `exchange` outlives the coroutine.
net::Task<void> serve_openai_chat(const MockOptions& options, MockStats& stats,
                                  net::Exchange& exchange);

}  // namespace gw::app::mock
