// The relay of an upstream's own Messages answer (Anthropic, a worker in front of it): passed on
// as it arrives, event by event, with the terminal event, the failure and the usage read on the
// way. Event types and fields as Anthropic documents its streams
// (https://docs.claude.com/en/docs/build-with-claude/streaming).

#include <fmt/format.h>

#include "gw/net/sse.hpp"
#include "gw/providers/anthropic.hpp"
#include "gw/providers/anthropic_usage.hpp"
#include "gw/providers/messages.hpp"
#include "gw/providers/openai_compatible.hpp"
#include "gw/providers/responses_json.hpp"

namespace gw::providers {
namespace {

using namespace responses_json;

class MessagesPassThrough final : public ResponseTranslator {
 public:
  tl::expected<std::string, core::Error> complete(std::string body) override {
    dom::object message;
    if (parse_object(body).get(message) != simdjson::SUCCESS) {
      return tl::unexpected(core::Error(core::Errc::kUpstreamError,
                                        "the upstream's Messages answer is not a JSON object"));
    }
    dom::object usage;
    if (message["usage"].get(usage) == simdjson::SUCCESS) {
      usage_.merge(usage);
    }
    return body;
  }
  std::optional<api::Usage> completion_usage() const override {
    return usage_.seen ? std::optional(usage_.counts()) : std::nullopt;
  }

  tl::expected<std::string_view, core::Error> feed(std::string_view piece) override {
    if (done_) {
      return std::string_view();  // nothing after message_stop is relayed
    }
    std::string_view ready = events_.next(piece);
    size_t done_end = std::string_view::npos;
    size_t event_start = 0;
    bool bare_done = false;  // chat's [DONE], which no Anthropic stream sends
    parser_.feed_events(ready, [&](const net::SseEvent& event) {
      const size_t start = std::exchange(event_start, event.end);
      if (done_) {
        return;
      }
      if (event.data == "[DONE]") {
        done_ = true;
        bare_done = true;
        done_end = start;
        return;
      }
      const std::string_view type = event_type(event);
      if (type == "message_start" || type == "message_delta") {
        read_usage(event.data, type == "message_start");
      } else if (type == "message_stop") {
        done_ = true;
        done_end = event.end;
      } else if (type == "error" && !failure_) {
        failure_ = reported_failure(event.data);
        done_ = true;  // Anthropic ends the stream after its error event
        done_end = event.end;
      }
    });
    if (done_end < ready.size()) {
      ready = ready.substr(0, done_end);
    }
    if (done_) {
      events_.clear();
    }
    if (bare_done && !failure_) {
      // Not relayed (the SDKs would fail to read it): the message never finished.
      failure_ = core::Error(core::Errc::kUpstreamError,
                             "the upstream ended its Messages stream without message_stop");
      final_.assign(ready);
      final_ += final_error_event(*failure_);
      return std::string_view(final_);
    }
    return ready;
  }

  bool finished() const override { return done_; }
  bool relayed_error() const override { return failure_.has_value(); }
  const core::Error* stream_error() const override { return failure_ ? &*failure_ : nullptr; }
  api::Usage usage() const override { return usage_.seen ? usage_.counts() : api::Usage{}; }
  size_t buffered() const override { return events_.held() + parser_.buffered(); }
  std::string final_error_event(const core::Error& error) override {
    return core::anthropic_sse_error_event(error);
  }

 private:
  // message_start carries the message and its usage; each message_delta restates counts
  // (AnthropicUsage).
  void read_usage(std::string_view data, bool start) {
    dom::object event;
    if (parse_object(data).get(event) != simdjson::SUCCESS) {
      return;
    }
    dom::object usage;
    if ((start ? event["message"]["usage"] : event["usage"]).get(usage) != simdjson::SUCCESS) {
      return;
    }
    usage_.merge(usage);
  }

  // The failure an `error` event reports, as the client's error (its type and message kept).
  static core::Error reported_failure(std::string_view data) {
    dom::object event;
    if (parse_object(data).get(event) != simdjson::SUCCESS) {
      return {core::Errc::kUpstreamError, "the upstream reported an error in its stream"};
    }
    std::string type(text_at(event["error"], "type"));
    std::string message(text_at(event["error"], "message"));
    return anthropic_error(200, type.empty() ? "api_error" : std::move(type),
                           message.empty() ? "the upstream reported an error" : std::move(message),
                           {});
  }

  net::SseParser parser_;
  WholeEvents events_;
  AnthropicUsage usage_;
  std::optional<core::Error> failure_;
  std::string final_;  // the events before a bare [DONE], and the error event that ends them
  bool done_ = false;
};

// OpenAI's input-token count ({"object":"response.input_tokens","input_tokens":N}) as
// Anthropic's ({"input_tokens":N}).
class InputTokensAsCount final : public ResponseTranslator {
 public:
  tl::expected<std::string, core::Error> complete(std::string body) override {
    dom::object answer;
    int64_t tokens = -1;
    if (parse_object(body).get(answer) != simdjson::SUCCESS ||
        answer["input_tokens"].get_int64().get(tokens) != simdjson::SUCCESS || tokens < 0) {
      return tl::unexpected(
          core::Error(core::Errc::kUpstreamError,
                      "the upstream's input-token count has no 'input_tokens' count"));
    }
    return fmt::format(R"({{"input_tokens":{}}})", tokens);
  }
  tl::expected<std::string_view, core::Error> feed(std::string_view /*piece*/) override {
    return tl::unexpected(core::Error(core::Errc::kUpstreamError,
                                      "the upstream sent its input-token count as a stream"));
  }
  bool finished() const override { return true; }
  size_t buffered() const override { return 0; }
};

}  // namespace

std::unique_ptr<ResponseTranslator> make_messages_pass_through() {
  return std::make_unique<MessagesPassThrough>();
}

std::unique_ptr<ResponseTranslator> make_count_from_input_tokens() {
  return std::make_unique<InputTokensAsCount>();
}

}  // namespace gw::providers
