#pragma once

#include "gw/mock/backend.hpp"
#include "gw/mock/common.hpp"
#include "gw/net/http_types.hpp"

namespace gw::mock {

// Embeddings in OpenAI's format (POST /v1/embeddings; Azure's deployment URL gives
// `deployment`, which names the answer's model) and in Ollama's (POST /api/embed). The vectors
// are deterministic, so that tests can compute them: for an input whose bytes (or token ids) sum
// to s, element j is ((s + 31 j) mod 1000) / 1000 - 0.5, with `dimensions` elements (8 when
// not given). Requests are checked as strictly as the providers document them: an unknown member
// is a 400. `options` and `stats` live as long as the server; `exchange` outlives the coroutine.
net::Task<void> serve_openai_embeddings(const MockOptions& options, MockStats& stats,
                                        net::Exchange& exchange, std::string deployment = {});
net::Task<void> serve_ollama_embed(const MockOptions& options, MockStats& stats,
                                   net::Exchange& exchange);

}  // namespace gw::mock
