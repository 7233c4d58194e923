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

// The mock backend's Ollama native dialect, in the wire format of
// https://github.com/ollama/ollama/blob/main/docs/api.md (/api/chat, /api/generate, /api/embed,
// /api/tags).
namespace gw::mock {

// Ollama's error body {"error":"<message>"}.
net::Response ollama_error(int status, std::string_view message);

// GET /api/tags: --models as Ollama names them (":latest" added to ids without a tag).
net::Response ollama_tags(const std::vector<std::string>& models);

// Whether `model` is one of `models`, with or without the implied ":latest" tag on either side.
bool ollama_model_known(const std::vector<std::string>& models, std::string_view model);

// What a valid /api/chat request asks for, read before anything is sent.
struct OllamaRequest {
  std::string model;
  bool stream = true;                  // Ollama streams unless told not to
  std::string text;                    // the answer's text when no tools are called
  bool json_format = false;            // `format` asked for JSON: the text is one token
  std::vector<std::string> calls;      // names of the tools to call, in order
  std::string arguments;               // every call's arguments, as a JSON object text
  std::optional<int64_t> num_predict;  // options.num_predict when it limits the answer
  int64_t prompt_words = 0;            // words across all message contents
};

// Validates an /api/chat body; the error is the message of a 400.
tl::expected<OllamaRequest, std::string> read_ollama_request(std::string_view body);
// A valid /api/generate request: `text` is its prompt, which the answer echoes.
tl::expected<OllamaRequest, std::string> read_ollama_generate(std::string_view body);

// POST /api/chat. `options` and `stats` live as long as the server; `exchange` outlives the
// coroutine.
net::Task<void> serve_ollama_chat(const MockOptions& options, MockStats& stats,
                                  net::Exchange& exchange);
// POST /api/generate: the prompt echoed word by word ("response" fragments), JSON or NDJSON.
net::Task<void> serve_ollama_generate(const MockOptions& options, MockStats& stats,
                                      net::Exchange& exchange);

}  // namespace gw::mock
