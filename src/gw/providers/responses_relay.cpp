// The relay of an upstream's own Responses answer (OpenAI, Azure, a worker): passed on as it
// arrives, event by event, with the terminal event, the failure and the usage read on the way.

#include <fmt/format.h>

#include <charconv>

#include "gw/net/sse.hpp"
#include "gw/providers/openai_compatible.hpp"
#include "gw/providers/responses.hpp"
#include "gw/providers/responses_json.hpp"

namespace gw::providers {
namespace {

using namespace responses_json;

// The sequence_number of an event, if it says one at its top level ahead of any nested object.
std::optional<int64_t> sequence_of(std::string_view data) {
  constexpr std::string_view kKey = R"("sequence_number":)";
  const size_t at = data.find(kKey);
  if (at == std::string_view::npos || data.substr(0, at).find('{', 1) != std::string_view::npos) {
    return std::nullopt;
  }
  int64_t value = 0;
  const char* begin = data.data() + at + kKey.size();
  const auto [end, error] = std::from_chars(begin, data.data() + data.size(), value);
  return error == std::errc() ? std::optional<int64_t>(value) : std::nullopt;
}

class ResponsesPassThrough final : public ResponseTranslator {
 public:
  tl::expected<std::string, core::Error> complete(std::string body) override {
    std::optional<api::Usage> ignored;
    auto relayed = relayed_completion(std::move(body), ignored);
    if (relayed) {
      usage_ = read_responses_usage(*relayed).value_or(api::Usage{});
    }
    return relayed;
  }
  std::optional<api::Usage> completion_usage() const override { return usage_; }

  tl::expected<std::string_view, core::Error> feed(std::string_view piece) override {
    if (done_) {
      return std::string_view();  // nothing after the terminal event is relayed
    }
    std::string_view ready = events_.next(piece);
    size_t done_end = std::string_view::npos;
    size_t event_start = 0;
    bool bare_done = false;  // a [DONE] before any terminal event
    parser_.feed_events(ready, [&](const net::SseEvent& event) {
      const size_t start = std::exchange(event_start, event.end);
      if (done_) {
        return;
      }
      if (const auto sequence = sequence_of(event.data)) {
        last_sequence_ = *sequence;
      }
      const std::string_view type = event_type(event);
      // An error event comes before response.failed (OpenAI's order); a worker cut short at its
      // shutdown ends with OpenAI's chat-style error event alone.
      if (!failure_ &&
          (type == "error" || type == "response.failed" || event.data.starts_with(R"({"error")"))) {
        failure_ = reported_failure(event.data);
      }
      if (type == "response.completed" || type == "response.incomplete" ||
          type == "response.failed") {
        if (auto counts = read_responses_usage(event.data)) {
          usage_ = *counts;
        }
        done_ = true;
        done_end = event.end;
      } else if (event.data == "[DONE]") {
        // Chat's terminator without a terminal event: the response never finished.
        done_ = true;
        bare_done = true;
        done_end = start;
      }
    });
    if (done_end < ready.size()) {
      ready = ready.substr(0, done_end);
    }
    if (done_) {
      events_.clear();
    }
    if (bare_done && !failure_) {
      failure_ = core::Error(core::Errc::kUpstreamError,
                             "the upstream ended its Responses stream without a terminal event");
      final_.assign(ready);
      final_ += final_error_event(*failure_);
      return std::string_view(final_);
    }
    return ready;
  }

  bool finished() const override { return done_; }
  bool relayed_error() const override { return failure_.has_value(); }
  const core::Error* stream_error() const override { return failure_ ? &*failure_ : nullptr; }
  api::Usage usage() const override { return usage_.value_or(api::Usage{}); }
  size_t buffered() const override { return events_.held() + parser_.buffered(); }

  // The Responses API's own error event, numbered after the last event relayed.
  std::string final_error_event(const core::Error& error) override {
    std::string event = "event: error\ndata: {\"type\":\"error\",";
    fmt::format_to(std::back_inserter(event), R"("sequence_number":{},)", last_sequence_ + 1);
    event += error_event_members(error);
    event += "}\n\n";
    return event;
  }

 private:
  // The failure an error or response.failed event reports (its message under "error", under
  // "response"."error", or at the top).
  static core::Error reported_failure(std::string_view data) {
    core::Error error(core::Errc::kUpstreamError, "the upstream reported that the response failed");
    dom::object event;
    if (parse_object(data).get(event) != simdjson::SUCCESS) {
      return error;
    }
    for (auto details : {event["error"], event["response"]["error"], event.at_pointer("")}) {
      if (const std::string_view message = text_at(details, "message"); !message.empty()) {
        error.message = message;
        error.code = text_at(details, "code");
        break;
      }
    }
    return error;
  }

  net::SseParser parser_;
  WholeEvents events_;
  std::string final_;  // the relayed events and the error event that ends them
  std::optional<api::Usage> usage_;
  std::optional<core::Error> failure_;
  int64_t last_sequence_ = -1;
  bool done_ = false;
};

}  // namespace

std::unique_ptr<ResponseTranslator> make_responses_pass_through() {
  return std::make_unique<ResponsesPassThrough>();
}

std::optional<api::Usage> read_responses_usage(std::string_view response_json) {
  dom::object object;
  if (parse_object(response_json).get(object) != simdjson::SUCCESS) {
    return std::nullopt;
  }
  // An event carries the response object; a plain answer is one.
  dom::object response;
  if (object["response"].get(response) != simdjson::SUCCESS) {
    response = object;
  }
  dom::object usage;
  if (response["usage"].get(usage) != simdjson::SUCCESS) {
    return std::nullopt;
  }
  return api::Usage{count_at(usage, "input_tokens"), count_at(usage, "output_tokens")};
}

}  // namespace gw::providers
