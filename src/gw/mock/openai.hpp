#pragma once

#include <string>
#include <utility>

#include "gw/mock/backend.hpp"
#include "gw/mock/common.hpp"
#include "gw/net/http_types.hpp"

namespace gw::mock {

// How a route that speaks OpenAI's chat format differs from api.openai.com. Not an aggregate, as
// it is passed to a coroutine (see net::Response).
struct OpenAiDialect {
  OpenAiDialect() = default;
  OpenAiDialect(std::string model_, bool azure_) : model(std::move(model_)), azure(azure_) {}

  std::string model;   // when set, the answer's model (Azure: the deployment), else the request's
  bool azure = false;  // Azure's content-filter annotations, opening event and 400 error
};

// POST /v1/chat/completions in OpenAI's dialect: an echo of the last user message, word by word
// (JSON or SSE), tool calls when the request offers tools, and "Tool said: ..." after a tool
// result. `options` and `stats` live as long as the server; `exchange` outlives the coroutine.
net::Task<void> serve_openai_chat(const MockOptions& options, MockStats& stats,
                                  net::Exchange& exchange, OpenAiDialect dialect = {});

}  // namespace gw::mock
