#pragma once

#include <chrono>

#include "gw/api/chat_request.hpp"
#include "gw/metrics/metrics.hpp"
#include "gw/net/http_types.hpp"
#include "gw/net/upstream.hpp"
#include "gw/providers/provider.hpp"

namespace gw::app {

// Forwards a validated chat request to its provider and relays the answer (streamed event by
// event when asked). Every failure reaches the client in OpenAI's error format: as a response
// before anything was sent, as a final SSE error event after.
net::Task<void> proxy_chat(net::Exchange& exchange, const api::ChatRequestInfo& info,
                           const providers::Provider& provider, const std::string& upstream_model,
                           net::UpstreamClient& client, metrics::Metrics& metrics,
                           const net::UpstreamLimits& limits);

// How relaying an upstream success response ended.
enum class RelayEnd {
  kCompleted,
  kUpstreamFailed,
  kInterrupted,  // the client left or the gateway is shutting down: no verdict on the upstream
  kFailedBeforeResponse,  // only with may_retry: nothing was sent, another upstream may answer
};

// Relays a 2xx upstream response through `translator`: the whole translated body, or event by
// event when `stream`. A stream's response starts only with the first bytes to relay: a failure
// before that, or an upstream error as the first event (ResponseTranslator::stream_error), is an
// error response with its own status; after it, a final SSE error event, as is an event longer
// than `limits.event`. `upstream_name` names the upstream in error messages.
// `sent_at`: when the upstream request went out (for the time spent upstream). With `may_retry`
// such an early failure returns kFailedBeforeResponse with nothing sent (the caller tries another
// upstream). A non-streamed 2xx is never handed back for a retry: its generation ran.
net::Task<RelayEnd> relay_success(net::Exchange& exchange, net::UpstreamResponse& upstream,
                                  providers::ResponseTranslator& translator, bool stream,
                                  std::string_view upstream_name, const net::UpstreamLimits& limits,
                                  std::chrono::steady_clock::time_point sent_at,
                                  bool may_retry = false);

// Whether the session interrupted the request (the client left, or the drain deadline passed), in
// which case a failed upstream operation says nothing about the upstream; notes the outcome. The
// caller then ends without answering: after a shutdown's cut the session sends the 503 or the
// stream's final error event.
bool interrupted(net::Exchange& exchange);

// What passes on upstream from the client's request: W3C traceparent/tracestate (views into it),
// and its Via plus this process's entry, kept in `via` (which must outlive the send).
void add_forwarding_headers(const net::Request& request, net::HeaderViews& headers,
                            std::string& via);

// The 508 for a request that has already passed through this process (see core::via_entry).
std::optional<core::Error> loop_error(const net::Request& request);

// The built-in `echo` model: answers with the last user message (streamed word by word).
net::Task<void> reply_echo(net::Exchange& exchange, const api::ChatRequestInfo& info);

// "data: {"error":{...}}\n\n"
std::string sse_error_event(const core::Error& error);

}  // namespace gw::app
