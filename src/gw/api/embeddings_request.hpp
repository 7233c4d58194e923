#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <vector>

#include "gw/core/error.hpp"

namespace gw::api {

// The shapes OpenAI's embeddings `input` takes.
enum class EmbeddingInput {
  kText,         // "a string"
  kTexts,        // ["a", "b"]
  kTokens,       // [1, 2, 3]: one input as token ids
  kTokenArrays,  // [[1, 2], [3]]
};

// How the client wants the vectors: JSON numbers, or base64 of little-endian float32 (what the
// official SDKs ask for by default and decode themselves).
enum class EmbeddingEncoding { kUnspecified, kFloat, kBase64 };

// What routing and translation need from a POST /v1/embeddings body, read without a tree.
struct EmbeddingsRequestInfo {
  std::string model;
  size_t model_begin = 0;  // the model's string token (quotes included) in the body
  size_t model_end = 0;
  EmbeddingInput input = EmbeddingInput::kText;
  size_t input_count = 0;  // how many vectors the answer holds
  size_t input_begin = 0;  // the input's JSON value in the body
  size_t input_end = 0;
  EmbeddingEncoding encoding = EmbeddingEncoding::kUnspecified;
  std::optional<int64_t> dimensions;
  // The first member OpenAI's embeddings API does not define (passed through as is; a
  // translating provider refuses it rather than drop it). Empty when there is none.
  std::string other_member;
};

// Validates an embeddings body as OpenAI does: an object with a non-empty string `model`, an
// `input` of one of the four shapes (arrays non-empty), `encoding_format` "float" or "base64",
// `dimensions` a positive integer, `user` a string; other members only checked to be JSON.
// Errors are 400 invalid_request_error with `param` naming the field.
tl::expected<EmbeddingsRequestInfo, core::Error> inspect_embeddings_request(
    const std::string& body);

// The client's body as sent to an OpenAI-dialect upstream: the model replaced by
// `upstream_model` (unless equal), spliced, never re-serialised. `storage` holds the new token.
void upstream_embeddings_body(std::string_view body, const EmbeddingsRequestInfo& info,
                              std::string_view upstream_model, std::string& storage,
                              std::vector<std::string_view>& parts);

}  // namespace gw::api
