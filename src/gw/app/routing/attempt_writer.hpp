#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "gw/app/routing/stream_continuation.hpp"
#include "gw/net/http_types.hpp"

namespace gw::app {

// The client's writer as one attempt of a routed request sees it: what the attempt sends goes to
// the client with the route's headers (x-gateway-model, -deployment, -attempts), except a
// complete error response (status >= 400), which is held back: the router decides whether
// another deployment or a fallback gets the request, or the client gets this answer after all.
// Once the response has started, a stream's later failure is its own final error event, unless
// the model continues broken streams (`continuation`): then the event is held too, and an attempt
// that resumes the client's stream writes no head of its own and has its events rewritten.
// Without `hold_errors` it only adds the headers (the router's final answer, the controller's
// attempts, which hold their workers' refusals themselves).
class AttemptWriter final : public net::ResponseWriter {
 public:
  // `model` and `deployment` (empty: no such header) must outlive the writer (they live in the
  // table), as must `continuation` (none: a broken stream terminates).
  AttemptWriter(net::ResponseWriter& client, std::string_view model, std::string_view deployment,
                int attempt, StreamContinuation* continuation = nullptr, bool hold_errors = true)
      : client_(client),
        model_(model),
        deployment_(deployment),
        attempt_(std::to_string(attempt)),
        continuation_(continuation),
        resuming_(continuation != nullptr && continuation->resuming()),
        hold_errors_(hold_errors) {
    error_format = client.error_format;
  }

  net::Task<bool> send(net::Response response) override;
  net::Task<bool> start_stream(int status, std::string_view content_type, net::Headers headers,
                               net::HeaderViews relayed, std::string_view first_chunk) override;
  net::Task<bool> send_stream(int status, std::string_view content_type, net::Headers headers,
                              net::HeaderViews relayed, std::string_view whole) override;
  net::Task<bool> write(std::string_view data) override;
  net::Task<bool> write(std::span<const std::string_view> parts) override;
  net::Task<bool> finish_stream(std::string_view last) override;
  net::Task<bool> fail_stream(std::string_view last) override;
  void abort() override { client_.abort(); }
  // A resuming attempt's stream starts with its first event, as a fresh one would.
  bool started() const override { return resuming_ ? resumed_ : client_.started(); }
  int status() const override { return held_ ? held_->status : client_.status(); }

  // The error response held back, if any (taken: the writer holds nothing after).
  std::optional<net::Response> take_held() { return std::exchange(held_, std::nullopt); }
  // The stream broke off and its final error event is held by the continuation.
  bool broke_off() const { return broke_off_; }

 private:
  void add_route_headers(net::HeaderViews& headers) const;
  // What goes to the client of `bytes` (recorded, rewritten when resuming); valid until the next
  // call.
  std::string_view pass(std::string_view bytes);

  net::ResponseWriter& client_;
  std::string_view model_;
  std::string_view deployment_;
  std::string attempt_;  // short: no allocation
  std::optional<net::Response> held_;
  StreamContinuation* continuation_;
  const bool resuming_;  // the client's stream is open: this attempt continues it
  const bool hold_errors_;
  bool resumed_ = false;  // this resuming attempt's stream began
  bool broke_off_ = false;
  std::string rewritten_;  // what pass() gave, while the client's writer writes it
};

}  // namespace gw::app
