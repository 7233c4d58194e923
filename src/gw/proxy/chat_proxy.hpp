#pragma once

#include <string>

#include "gw/api/chat_request.hpp"
#include "gw/metrics/metrics.hpp"
#include "gw/net/http_types.hpp"
#include "gw/net/upstream.hpp"
#include "gw/providers/provider.hpp"

namespace gw::proxy {

// Forwards a validated chat request to its provider and relays the answer (streamed event by
// event when asked). Every failure reaches the client in OpenAI's error format: as a response
// before anything was sent, as a final SSE error event after.
net::Task<void> proxy_chat(net::Exchange& exchange, const api::ChatRequestInfo& info,
                           const providers::Provider& provider, const std::string& upstream_model,
                           net::UpstreamClient& client, metrics::Metrics& metrics,
                           const net::UpstreamLimits& limits);

}  // namespace gw::proxy
