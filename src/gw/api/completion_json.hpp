#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gw/api/usage.hpp"

namespace gw::api {

// Identity shared by every chunk of one completion, as OpenAI does.
struct CompletionMeta {
  std::string id;  // "chatcmpl-..."
  int64_t created = 0;
  std::string model;
};

CompletionMeta new_completion_meta(std::string model);

// Seconds since the Unix epoch: the `created` of completions and chunks.
int64_t unix_now();

// A non-streaming chat.completion object with one assistant choice.
std::string completion_json(const CompletionMeta& meta, std::string_view content,
                            std::string_view finish_reason, const Usage& usage);

// "data: <json>\n\n"
std::string sse_data(std::string_view json);
inline constexpr std::string_view kSseDone = "data: [DONE]\n\n";

// Splits text into stream tokens: each a word with its leading white space, so that the tokens
// concatenate back to the text exactly.
std::vector<std::string_view> split_tokens(std::string_view text);

}  // namespace gw::api
