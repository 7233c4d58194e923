#pragma once

#include <string>
#include <string_view>

namespace gw::core {

// Every error the gateway can answer with. The one table in error.cpp maps each to its HTTP status
// and OpenAI error type/code, so that no handler invents its own.
enum class Errc {
  kInvalidRequest,       // 400: malformed JSON, missing or invalid field
  kUnauthorized,         // 401: missing or wrong gateway key
  kForbidden,            // 403
  kNotFound,             // 404: unknown path
  kModelNotFound,        // 404: unknown model
  kMethodNotAllowed,     // 405
  kConflict,             // 409
  kRequestTimeout,       // 408: client too slow to send its request
  kPayloadTooLarge,      // 413
  kHeadersTooLarge,      // 431
  kRateLimited,          // 429
  kInternal,             // 500
  kUpstreamError,        // 502: upstream answered 5xx or broke the protocol
  kUpstreamUnreachable,  // 502: connect/TLS/proxy failure
  kServiceUnavailable,   // 503
  kUpstreamTimeout,      // 504
  kUpstreamStatus,       // upstream 4xx passed on with its own status
  kLoopDetected,         // 508: the request came back to this process (Via)
};

struct Error {
  Errc errc = Errc::kInternal;
  std::string message;
  std::string param;        // empty: null
  int status = 0;           // 0: the table's status for errc
  std::string type;         // empty: the table's type
  std::string code;         // empty: the table's code (may be null)
  std::string retry_after;  // passed on as the Retry-After header when set

  Error() = default;
  Error(Errc e, std::string msg, std::string p = {})
      : errc(e), message(std::move(msg)), param(std::move(p)) {}
};

// 400 invalid_request_error, `param` naming the field at fault: what every request parser and
// translator answers for a field it cannot take.
Error invalid_request(std::string message, std::string param = {});

int http_status(const Error& error);
std::string_view error_type(const Error& error);
// Empty means JSON null.
std::string_view error_code(const Error& error);

}  // namespace gw::core

namespace gw::core {

// The one place that renders OpenAI's error body: {"error":{"message","type","param","code"}}.
std::string error_json(const Error& error);

// The same body as a stream's final event: "data: {"error":{...}}\n\n".
std::string sse_error_event(const Error& error);

// What renders an error body: error_json, or another API's shape for its clients.
using ErrorBody = std::string (*)(const Error&);

// Anthropic's error body, for clients of its Messages API: {"type":"error","error":{"type",
// "message"}}. The type is the error's own when it is one of Anthropic's (an Anthropic upstream's
// error passed on), else the one Anthropic documents for the status.
std::string anthropic_error_json(const Error& error);
std::string_view anthropic_error_type(const Error& error);
// The same as a Messages stream's final event: "event: error\ndata: {...}\n\n".
std::string anthropic_sse_error_event(const Error& error);

}  // namespace gw::core
