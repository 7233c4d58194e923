#include "gw/app/routing/attempt_writer.hpp"

#include <fmt/format.h>

namespace gw::app {

// Views: what they point to outlives the response's writing (the table, this writer).
void AttemptWriter::add_route_headers(net::HeaderViews& headers) const {
  headers.push_back({"x-gateway-model", model_});
  if (!deployment_.empty()) {
    headers.push_back({"x-gateway-deployment", deployment_});
  }
  headers.push_back({"x-gateway-attempts", attempt_});
}

namespace {

net::Task<bool> done() {
  co_return true;
}

}  // namespace

std::string_view AttemptWriter::pass(std::string_view bytes) {
  if (continuation_ == nullptr) {
    return bytes;
  }
  if (resuming_) {
    rewritten_ = continuation_->rewrite(bytes);
    bytes = rewritten_;
  }
  continuation_->record(bytes);
  return bytes;
}

// Not coroutines: the client's writer's own task is returned (no frame of their own on the path
// every request takes).
net::Task<bool> AttemptWriter::send(net::Response response) {
  if (resuming_ && response.status < 400) {
    // A whole answer cannot go on the client's open stream: this attempt failed.
    const core::Error error{
        core::Errc::kUpstreamError,
        fmt::format("deployment {} answered a stream request without a stream", deployment_)};
    response = net::error_response(error, error_format);
  }
  if (response.status >= 400 && hold_errors_) {
    // Owned from here: what relayed headers point to (the upstream's response) ends with the
    // attempt.
    for (const auto& header : response.relayed) {
      response.headers.push_back({std::string(header.name), std::string(header.value)});
    }
    response.relayed.clear();
    held_ = std::move(response);
    return done();
  }
  add_route_headers(response.relayed);
  return client_.send(std::move(response));
}

net::Task<bool> AttemptWriter::start_stream(int status, std::string_view content_type,
                                            net::Headers headers, net::HeaderViews relayed,
                                            std::string_view first_chunk) {
  if (resuming_) {
    resumed_ = true;
    const std::string_view first = pass(first_chunk);
    return first.empty() ? done() : client_.write(first);
  }
  add_route_headers(relayed);
  return client_.start_stream(status, content_type, std::move(headers), std::move(relayed),
                              pass(first_chunk));
}

net::Task<bool> AttemptWriter::send_stream(int status, std::string_view content_type,
                                           net::Headers headers, net::HeaderViews relayed,
                                           std::string_view whole) {
  if (resuming_) {
    resumed_ = true;
    return client_.finish_stream(pass(whole));
  }
  add_route_headers(relayed);
  return client_.send_stream(status, content_type, std::move(headers), std::move(relayed),
                             pass(whole));
}

net::Task<bool> AttemptWriter::write(std::string_view data) {
  const std::string_view out = pass(data);
  return out.empty() && !data.empty() ? done() : client_.write(out);
}

net::Task<bool> AttemptWriter::write(std::span<const std::string_view> parts) {
  if (continuation_ == nullptr) {
    return client_.write(parts);
  }
  std::string joined;
  for (const auto part : parts) {
    joined += part;
  }
  const std::string_view out = pass(joined);
  if (out.data() == joined.data()) {
    rewritten_ = std::move(joined);  // the view must outlive this call
    return client_.write(std::string_view(rewritten_));
  }
  return out.empty() ? done() : client_.write(out);
}

net::Task<bool> AttemptWriter::finish_stream(std::string_view last) {
  return client_.finish_stream(pass(last));
}

net::Task<bool> AttemptWriter::fail_stream(std::string_view last) {
  if (continuation_ != nullptr && continuation_->may_continue()) {
    continuation_->hold_failure(last);
    broke_off_ = true;
    return done();
  }
  return client_.fail_stream(last);
}

}  // namespace gw::app
