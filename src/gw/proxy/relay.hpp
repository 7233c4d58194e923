#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "gw/api/completion_json.hpp"
#include "gw/core/error.hpp"
#include "gw/net/http_types.hpp"
#include "gw/net/upstream.hpp"
#include "gw/providers/provider.hpp"

namespace gw::proxy {

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
// (the controller, which has other workers) such an early failure returns kFailedBeforeResponse
// with nothing sent. A non-streamed 2xx is never handed back for a retry: its generation ran.
// `checked`: the usage of a completion the upstream (a worker) says it checked, see
// cluster::kCheckedUsageHeader; its body then passes as it is, unparsed.
net::Task<RelayEnd> relay_success(net::Exchange& exchange, net::UpstreamResponse& upstream,
                                  providers::ResponseTranslator& translator, bool stream,
                                  std::string_view upstream_name, const net::UpstreamLimits& limits,
                                  std::chrono::steady_clock::time_point sent_at,
                                  bool may_retry = false,
                                  std::optional<api::Usage> checked = std::nullopt);

// An upstream failure's answer: an error response, or, once the response has started (a stream
// whose head was committed while the upstream's was awaited, see HeadKeepAlive), the stream's
// final error event and its end.
net::Task<void> answer_failure(net::Exchange& exchange, providers::ResponseTranslator& translator,
                               const core::Error& error);

// Whether the session interrupted the request (the client left, or the drain deadline passed), in
// which case a failed upstream operation says nothing about the upstream; notes the outcome. The
// caller then ends without answering: after a shutdown's cut the session sends the 503 or the
// stream's final error event.
bool interrupted(net::Exchange& exchange);

// The stream outcome an upstream call's failure gives: "timeout" or "upstream_error".
std::string_view outcome_of(const core::Error& error);

}  // namespace gw::proxy
