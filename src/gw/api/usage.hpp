#pragma once

// Token usage: the one type every provider's counts are merged into, as numbers, and the one
// writer of OpenAI's usage object. Each wire format has its reader, and every reader makes the
// counts safe to add up (sane_token_count): OpenAI's here (from an answer's text, without a tree:
// the pass-through's hot path) and in providers/common/json_read.hpp (from a chunk a translator
// parsed anyway), the Responses API's in providers/responses_relay.cpp, Anthropic's in
// providers/anthropic_usage.hpp, Ollama's in providers/ollama.hpp.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gw::api {

// A token count as an upstream reported it, made safe to add up: counts are summed (prompt plus
// completion, Anthropic's three prompt counts) and a broken upstream's negative or huge number
// must neither overflow nor make a total go backwards. 2^40 is far above any real count.
inline constexpr int64_t kMaxTokenCount = int64_t{1} << 40;
inline int64_t sane_token_count(int64_t reported) {
  return reported < 0 ? 0 : reported > kMaxTokenCount ? kMaxTokenCount : reported;
}

// Token counts; -1 when an upstream did not report them. The details are written when known.
struct Usage {
  int64_t prompt_tokens = -1;  // cached and cache-written tokens included, as OpenAI counts
  int64_t completion_tokens = -1;
  std::optional<int64_t> cached_tokens;          // prompt_tokens_details.cached_tokens
  std::optional<int64_t> cache_creation_tokens;  // ...cache_creation_tokens (Anthropic's)
  std::optional<int64_t> reasoning_tokens;       // completion_tokens_details.reasoning_tokens

  bool known() const { return prompt_tokens >= 0 && completion_tokens >= 0; }
};

// OpenAI's usage object as JSON text: prompt, completion and total tokens, then the details
// known. Counts are written as they are (an unknown one as 0).
void append_usage_json(std::string& out, const Usage& usage);

// The "usage" object of a chat.completion (or chunk) JSON text, if it has a non-null one: its
// prompt and completion tokens (a count not reported stays -1), what accounting needs. The
// details are read where a translator writes them in another API's shape
// (json_read::read_chat_usage, which takes an absent count as 0: the usage object is known).
std::optional<Usage> read_usage(std::string_view json);

}  // namespace gw::api
