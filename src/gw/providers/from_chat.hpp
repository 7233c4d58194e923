#pragma once

// What the translators that give the client another API than chat (Responses, Messages) share:
// they wrap a provider's chat translator and read its output, OpenAI's chat stream, chunk by
// chunk. Internal to gw_providers.

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "gw/net/sse.hpp"
#include "gw/providers/provider.hpp"
#include "gw/providers/responses_json.hpp"

namespace gw::providers {

class FromChatTranslator : public ResponseTranslator {
 public:
  explicit FromChatTranslator(std::unique_ptr<ResponseTranslator> chat) : chat_(std::move(chat)) {}

  // The chat translator's completion, read (its model to on_model(), its usage to `usage_`), and
  // rendered by render_completion() from its first choice and that choice's message.
  tl::expected<std::string, core::Error> complete(std::string body) final;
  std::optional<api::Usage> completion_usage() const final {
    return usage_.known() ? std::optional(usage_) : std::nullopt;
  }
  api::Usage usage() const final { return usage_.known() ? usage_ : chat_->usage(); }

  tl::expected<std::string_view, core::Error> feed(std::string_view piece) final;
  bool finished() const final { return closed_ && chat_->finished(); }
  bool relayed_error() const final { return upstream_error_.has_value(); }
  const core::Error* stream_error() const final;
  size_t buffered() const final { return chat_->buffered() + sse_.buffered() + held(); }
  // The events made before the stream broke (if it broke on a chunk that is not JSON), then
  // fail()'s, unless the stream already ended.
  std::string final_error_event(const core::Error& error) final;

 protected:
  // Bytes of the answer the translator holds back for now (bounded by the relay as the rest).
  virtual size_t held() const { return 0; }
  virtual void on_model(std::string_view model) = 0;
  virtual tl::expected<std::string, core::Error> render_completion(
      responses_json::dom::object choice, responses_json::dom::object message) = 0;

  // The chat stream, in order: start() with the first chunk's model (empty when the stream ends
  // or fails before one); for each chunk its first choice (on_choice), its usage read into
  // `usage_` first; close() at [DONE]; fail() when the stream cannot complete (the chunk's own
  // error event, or the relay's final error). close() and fail() end the stream: they set
  // `closed_`. Each appends its events to `out_`.
  virtual void start(std::string_view model) = 0;
  virtual void on_choice(responses_json::dom::object choice) = 0;
  virtual void close() = 0;
  virtual void fail(const core::Error& error) = 0;

  std::unique_ptr<ResponseTranslator> chat_;
  std::string out_;
  // The counts a chat translator kept without sending a usage chunk (none was asked for), unless
  // one was read.
  void take_usage(const api::Usage& counts) {
    if (!usage_.known() && counts.known()) {
      usage_ = counts;
    }
  }

  api::Usage usage_;
  bool closed_ = false;

 private:
  void on_chat_event(std::string_view data);

  net::SseParser sse_;
  std::optional<core::Error> failure_;         // the chat stream broke (not JSON)
  std::optional<core::Error> upstream_error_;  // the chat stream's own error event
};

}  // namespace gw::providers
