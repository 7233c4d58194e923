#pragma once

#include <string>
#include <string_view>

#include "gw/mock/backend.hpp"
#include "gw/mock/common.hpp"
#include "gw/net/http_types.hpp"

// The mock backend's Azure OpenAI routes: OpenAI's chat format at deployment URLs, with Azure's
// api-version and api-key checks, content-filter annotations and error shapes
// (https://learn.microsoft.com/azure/ai-services/openai/reference).
namespace gw::mock {

// POST /openai/deployments/{deployment}/chat/completions?api-version=... (or .../embeddings):
// the checks Azure makes before a request reaches the model, then the OpenAI dialect
// (openai.hpp, with Azure's annotations; embeddings.hpp). `options` and `stats` live as long as the
// server; `exchange` outlives the coroutine.
net::Task<void> serve_azure(const MockOptions& options, MockStats& stats, net::Exchange& exchange);

// What the OpenAI dialect needs to answer the way Azure does.

// Adds content_filter_results to every choice of a chat.completion (the four categories) or of a
// chunk (`{}`), and a completion's top-level prompt_filter_results.
std::string azure_annotate(std::string_view json, bool completion);

// The choice-less event that opens Azure's streams, carrying prompt_filter_results.
std::string azure_prompt_filter_event();

// Azure's 400 for a prompt its content filter rejected.
net::Response azure_content_filter_error();

// Azure takes the model from the URL, so `model` may be absent from the body: adds the
// deployment as `model` then, so that the body reads like any OpenAI request.
void azure_default_model(std::string& body, std::string_view deployment);

}  // namespace gw::mock
