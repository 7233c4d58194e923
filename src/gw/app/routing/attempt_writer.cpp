#include "gw/app/routing/attempt_writer.hpp"

namespace gw::app {

// Views: what they point to outlives the response's writing (the table, this writer).
void AttemptWriter::add_route_headers(net::HeaderViews& headers) const {
  headers.push_back({"x-gateway-model", model_});
  headers.push_back({"x-gateway-deployment", deployment_});
  headers.push_back({"x-gateway-attempts", attempt_});
}

namespace {

net::Task<bool> done() {
  co_return true;
}

}  // namespace

// Not coroutines: the client's writer's own task is returned (no frame of their own on the path
// every request takes).
net::Task<bool> AttemptWriter::send(net::Response response) {
  if (response.status >= 400) {
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
  add_route_headers(relayed);
  return client_.start_stream(status, content_type, std::move(headers), std::move(relayed),
                              first_chunk);
}

}  // namespace gw::app
