#pragma once

// A routed stream that fails after its response began goes on elsewhere where it can.
//
// Before any event: a stream whose head went out early (keep-alive comments while the upstream
// was silent) and whose upstream then refused or failed has given the client nothing to keep:
// the next deployment or fallback gets the request as it was, and its stream goes out on the
// open response as it comes (every API, every model).
//
// After events (a table model's `on_stream_failure: continue`, chat streams): the final error
// event is withheld and the next deployment or fallback gets the conversation plus the partial
// answer (an assistant message, then the continuation instruction); that attempt's events are
// rewritten to go on as the client's stream: no second role chunk, the first attempt's id,
// created and model, and usage that adds the tokens the broken attempts reported.

#include <boost/json/value.hpp>
#include <cstdint>
#include <memory>
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

  enum class Mode {
    kContinue,               // on_stream_failure: continue (chat)
    kRetryBeforeFirstEvent,  // any other stream
  };

  // `instruction` must outlive this (it lives in the table).
  explicit StreamContinuation(Mode mode, std::string_view instruction = {})
      : mode_(mode), instruction_(instruction) {}

  // Bytes of the client's stream, as written to it.
  void record(std::string_view bytes);
  // Whether a break now could still go on elsewhere (before any event; or continuing, nothing
  // recorded was lost).
  bool may_continue() const { return mode_ == Mode::kContinue ? !overflowed_ : !event_sent_; }

  // A broken stream's final error event, withheld while the answer may still go on.
  void hold_failure(std::string_view event) { failure_ = event; }
  const std::string& held_failure() const { return failure_; }

  // Tokens reported by an attempt that broke off (-1: unknown), added to the final usage.
  void carry_usage(int64_t prompt_tokens, int64_t completion_tokens);
  int64_t carried_prompt_tokens() const { return prompt_tokens_; }
  int64_t carried_completion_tokens() const { return completion_tokens_; }

  // The request body for the next attempt: empty when it is `original` (the client's) as it was
  // (no event sent yet, or no text); else the chat request with the partial answer recorded so
  // far and the instruction appended to its messages; none when the answer cannot go on (a tool
  // call begun, several choices, an answer that had finished, an upstream error event relayed,
  // or not continuing and an event sent). From then on the next attempts' events are rewritten
  // (unless the client had no event).
  std::optional<std::string> next_body(std::string_view original);
  bool resuming() const { return resuming_; }
  // Whether the client has its role chunk, so that the next attempts' role chunks are dropped.
  bool drops_roles() const { return drop_roles_; }

  // A resumed attempt's stream bytes as the client's stream goes on (see the top of this file).
  // Whole SSE events in, whole events out; a comment-only write (a keep-alive) passes as it is.
  std::string rewrite(std::string_view bytes);

 private:
  void append_rewritten(std::string& out, std::string_view data) const;

  Mode mode_;
  std::string_view instruction_;
  bool event_sent_ = false;  // anything but comments reached the client
  std::string recorded_;
  bool overflowed_ = false;
  std::string failure_;
  int64_t prompt_tokens_ = 0;
  int64_t completion_tokens_ = 0;
  bool resuming_ = false;
  bool drop_roles_ = false;  // the client has its role chunk: the next attempts' are dropped
  // What rewriting needs, made once the first attempt's events are to be continued (most streams
  // never need it): the first attempt's completion id, creation time and model, which the
  // client's stream keeps, and the parser of the next attempt's events.
  struct Rewriting {
    boost::json::value id, created, model;
    net::SseParser parser;
  };
  std::unique_ptr<Rewriting> rewriting_;
};

}  // namespace gw::app
