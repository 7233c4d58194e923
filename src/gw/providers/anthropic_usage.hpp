#pragma once

// Anthropic's usage object, read into api::Usage. Internal to gw_providers: the chat translation
// (anthropic_response.cpp) and the Messages pass-through (messages_relay.cpp) both merge it.

#include <simdjson.h>

#include <cstdint>
#include <string_view>

#include "gw/api/usage.hpp"

namespace gw::providers {

// Anthropic counts cached prompt tokens apart from input_tokens; OpenAI's prompt_tokens includes
// them, with the cached share in prompt_tokens_details. A stream restates counts: message_start
// has them all, each message_delta the output tokens so far (and may restate others, or send
// null for those it does not): the last number of each key counts.
struct AnthropicUsage {
  bool seen = false;  // a usage object was merged
  int64_t input = 0;
  int64_t output = 0;
  int64_t cache_read = 0;
  int64_t cache_creation = 0;

  // Only numbers count.
  void merge(simdjson::dom::object usage) {
    seen = true;
    for (const auto [key, value] : usage) {
      if (int64_t count = 0; value.get(count) == simdjson::SUCCESS) {
        take(key, count);
      }
    }
  }

  // One count, by its key in Anthropic's usage object (others are ignored).
  void take(std::string_view key, int64_t count) {
    int64_t* field = key == "input_tokens"                  ? &input
                     : key == "output_tokens"               ? &output
                     : key == "cache_read_input_tokens"     ? &cache_read
                     : key == "cache_creation_input_tokens" ? &cache_creation
                                                            : nullptr;
    if (field != nullptr) {
      *field = api::sane_token_count(count);
    }
  }

  api::Usage counts() const {
    return {.prompt_tokens = input + cache_read + cache_creation,
            .completion_tokens = output,
            .cached_tokens = cache_read,
            .cache_creation_tokens = cache_creation};
  }
};

}  // namespace gw::providers
