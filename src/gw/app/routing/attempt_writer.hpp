#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "gw/net/http_types.hpp"

namespace gw::app {

// The client's writer as one attempt of a routed request sees it: what the attempt sends goes to
// the client with the route's headers (x-gateway-model, -deployment, -attempts), except a
// complete error response (status >= 400), which is held back: the router decides whether
// another deployment or a fallback gets the request, or the client gets this answer after all.
// Nothing is held once the response has started: a stream's later failure is its own final
// error event.
class AttemptWriter final : public net::ResponseWriter {
 public:
  // `model` and `deployment` must outlive the writer (they live in the table).
  AttemptWriter(net::ResponseWriter& client, std::string_view model, std::string_view deployment,
                int attempt)
      : client_(client), model_(model), deployment_(deployment), attempt_(std::to_string(attempt)) {
    error_format = client.error_format;
  }

  net::Task<bool> send(net::Response response) override;
  net::Task<bool> start_stream(int status, std::string_view content_type, net::Headers headers,
                               net::HeaderViews relayed, std::string_view first_chunk) override;
  net::Task<bool> write(std::string_view data) override { return client_.write(data); }
  net::Task<bool> write(std::span<const std::string_view> parts) override {
    return client_.write(parts);
  }
  net::Task<bool> finish_stream(std::string_view last) override {
    return client_.finish_stream(last);
  }
  void abort() override { client_.abort(); }
  bool started() const override { return client_.started(); }
  int status() const override { return held_ ? held_->status : client_.status(); }

  // The error response held back, if any (taken: the writer holds nothing after).
  std::optional<net::Response> take_held() { return std::exchange(held_, std::nullopt); }

 private:
  void add_route_headers(net::HeaderViews& headers) const;

  net::ResponseWriter& client_;
  std::string_view model_;
  std::string_view deployment_;
  std::string attempt_;  // short: no allocation
  std::optional<net::Response> held_;
};

}  // namespace gw::app
