#include "gw/app/routing/attempt_writer.hpp"

namespace gw::app {

net::Task<bool> AttemptWriter::send(net::Response response) {
  if (response.status >= 400) {
    // Owned from here: what relayed headers point to (the upstream's response) ends with the
    // attempt.
    for (const auto& header : response.relayed) {
      response.headers.push_back({std::string(header.name), std::string(header.value)});
    }
    response.relayed.clear();
    held_ = std::move(response);
    co_return true;
  }
  for (auto& header : route_headers_) {
    response.headers.push_back(std::move(header));
  }
  co_return co_await client_.send(std::move(response));
}

net::Task<bool> AttemptWriter::start_stream(int status, std::string_view content_type,
                                            net::Headers headers, net::HeaderViews relayed,
                                            std::string_view first_chunk) {
  for (auto& header : route_headers_) {
    headers.push_back(std::move(header));
  }
  co_return co_await client_.start_stream(status, content_type, std::move(headers),
                                          std::move(relayed), first_chunk);
}

}  // namespace gw::app
