#pragma once

#include <cassert>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "gw/net/http_types.hpp"

namespace gw::proxy {

// What a model request's access-log line and metrics say beyond method, path and status: noted
// along the data path, read when the response is over (observe_end). One per connection, cleared
// before each of its requests (observe_start).
struct RequestLog final : net::ExchangeNotes {
  std::string model;
  std::string provider;
  // The model is a configured one (not client text), so metrics may use it as a label.
  bool model_known = false;
  std::string outcome;  // stream outcome or other detail; empty when plain
  bool stream = false;  // answered as an event stream
  // Streams: when the first event went to the client (the time to first token).
  std::chrono::steady_clock::time_point first_token_at{};
  // Time spent in upstream calls (request sent to response read), for the gateway's overhead.
  std::chrono::steady_clock::duration upstream_time{};
  int64_t prompt_tokens = -1;  // -1: unknown
  int64_t completion_tokens = -1;
  int attempts = 0;  // upstream attempts of a model-table route (0: not routed by a table)
  // A failure of the upstream after it answered 2xx (reset, timeout, protocol), if any.
  std::string_view upstream_error;
  // A worker asked by its controller: a checked completion's answer says its usage
  // (kCheckedUsageHeader).
  bool report_checked_usage = false;

  // As new, keeping the strings' storage for the connection's next request.
  void clear();
};

// The exchange's log: the notes its handler made (every handler of the model APIs makes a
// RequestLog: ModelApiHandler).
inline RequestLog& log_of(net::Exchange& exchange) {
  assert(exchange.notes != nullptr);
  return static_cast<RequestLog&>(*exchange.notes);
}
inline const RequestLog& log_of(const net::Exchange& exchange) {
  assert(exchange.notes != nullptr);
  return static_cast<const RequestLog&>(*exchange.notes);
}

// How a stream ended, for logs and metrics: the handler's verdict, or client_cancelled when the
// client left first; empty for plain responses.
std::string_view stream_outcome(const RequestLog& log, bool client_gone);

// The access-log line of a finished request (text or JSON, as LOG_FORMAT says), at info level.
void write_access_log(const net::Exchange& exchange, int status, bool client_gone);

}  // namespace gw::proxy
