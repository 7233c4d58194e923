#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gw::api {

// Token counts; -1 when an upstream did not report them.
struct Usage {
  int64_t prompt_tokens = -1;
  int64_t completion_tokens = -1;
};

// A token count as an upstream reported it, made safe to add up: counts are summed (prompt plus
// completion, Anthropic's three prompt counts) and a broken upstream's negative or huge number
// must neither overflow nor make a total go backwards. 2^40 is far above any real count.
inline constexpr int64_t kMaxTokenCount = int64_t{1} << 40;
inline int64_t sane_token_count(int64_t reported) {
  return reported < 0 ? 0 : reported > kMaxTokenCount ? kMaxTokenCount : reported;
}

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

// One chat.completion.chunk; each optional part is omitted when empty/absent.
struct ChunkParts {
  bool role = false;                        // delta.role = "assistant" (and content "")
  std::optional<std::string_view> content;  // delta.content
  std::string_view finish_reason;           // null when empty
  std::optional<Usage> usage;               // the usage chunk has empty choices
};
std::string chunk_json(const CompletionMeta& meta, const ChunkParts& parts);

// "data: <json>\n\n"
std::string sse_data(std::string_view json);
inline constexpr std::string_view kSseDone = "data: [DONE]\n\n";

// Splits text into stream tokens: each a word with its leading white space, so that the tokens
// concatenate back to the text exactly.
std::vector<std::string_view> split_tokens(std::string_view text);

}  // namespace gw::api
