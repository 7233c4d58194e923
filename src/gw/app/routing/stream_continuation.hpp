#pragma once

// Mid-stream `continue` (a table model's `on_stream_failure: continue`): when a routed chat
// stream breaks off after its first event, its final error event is withheld and the next
// deployment or fallback gets the conversation plus the partial answer (an assistant message,
// then the continuation instruction); that attempt's events are rewritten to go on as the
// client's stream: no second role chunk, the first attempt's id, created and model, and usage
// that adds the tokens the broken attempts reported.

#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "gw/net/sse.hpp"

namespace gw::app {

class StreamContinuation {
 public:
  // At most this much of the client's stream is kept to know the partial answer; a longer answer
  // is not continued (its stream terminates as without `continue`).
  static constexpr size_t kMaxRecorded = size_t{4} * 1024 * 1024;

  explicit StreamContinuation(std::string_view instruction) : instruction_(instruction) {}

  // Bytes of the client's stream, as written to it.
  void record(std::string_view bytes);
  // Whether a break now could still be continued (nothing recorded was lost).
  bool may_continue() const { return !overflowed_; }

  // A broken stream's final error event, withheld while the answer may still go on.
  void hold_failure(std::string_view event) { failure_ = event; }
  const std::string& held_failure() const { return failure_; }

  // Tokens reported by an attempt that broke off (-1: unknown), added to the final usage.
  void carry_usage(int64_t prompt_tokens, int64_t completion_tokens);
  int64_t carried_prompt_tokens() const { return prompt_tokens_; }
  int64_t carried_completion_tokens() const { return completion_tokens_; }

  // The chat request body for the next attempt: `original` (the client's) with the partial
  // answer recorded so far and the instruction appended to its messages; none when the answer
  // cannot be continued (a tool call begun, several choices, an answer that had finished, an
  // upstream error event relayed). From then on the next attempts' events are rewritten.
  std::optional<std::string> next_body(std::string_view original);
  bool resuming() const { return resuming_; }
  // Whether the client has its role chunk, so that the next attempts' role chunks are dropped.
  bool drops_roles() const { return drop_roles_; }

  // A new attempt begins (its events parsed afresh).
  void begin_attempt() { parser_ = {}; }
  // A resumed attempt's stream bytes as the client's stream goes on (see the top of this file).
  // Whole SSE events in, whole events out; a comment-only write (a keep-alive) passes as it is.
  std::string rewrite(std::string_view bytes);

 private:
  void append_rewritten(std::string& out, std::string_view data) const;

  std::string instruction_;
  std::string recorded_;
  bool overflowed_ = false;
  std::string failure_;
  int64_t prompt_tokens_ = 0;
  int64_t completion_tokens_ = 0;
  bool resuming_ = false;
  bool drop_roles_ = false;  // the client has its role chunk: the next attempts' are dropped
  // The first attempt's completion id, creation time and model: the client's stream keeps them.
  boost::json::value id_, created_, model_;
  net::SseParser parser_;
};

}  // namespace gw::app
