#pragma once

#include "gw/mock/backend.hpp"
#include "gw/mock/common.hpp"
#include "gw/net/http_types.hpp"

namespace gw::mock {

// POST /v1/completions, OpenAI's legacy text completions: the prompt's words echoed back (or
// --tokens N of them, or max_tokens at most, then finish_reason "length"), as one
// `text_completion` object or as SSE chunks of that object ending with `data: [DONE]` (a usage
// chunk with empty `choices` first when stream_options.include_usage). Azure's deployment URL
// gives `deployment`, which names the answer's model. `options` and `stats` live as long as the
// server; `exchange` outlives the coroutine.
net::Task<void> serve_openai_completions(const MockOptions& options, MockStats& stats,
                                         net::Exchange& exchange, std::string deployment = {});

}  // namespace gw::mock
