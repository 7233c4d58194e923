#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gw/core/error.hpp"
#include "gw/net/http_message.hpp"

// The seam between the HTTP plumbing (Beast, in net/*.cpp) and everything above it. Handlers see
// only these plain types and awaitable functions, so they compile without Beast's templates.
namespace gw::net {

class MessageHead;  // http1_parser.hpp

namespace asio = boost::asio;
// Every coroutine, socket and timer belongs to one shard's io_context. Naming its executor type,
// instead of the type-erased any_io_executor, saves a copy through a function table at every
// operation (several percent of a proxied request's instructions).
using Executor = asio::io_context::executor_type;
template <class T>
using Task = asio::awaitable<T, Executor>;

struct Request {
  std::string_view method;  // "GET", "POST", ...
  std::string_view target;  // origin-form, e.g. "/v1/models?x=1"
  // Views into the session's parsed message: valid while the handler runs.
  std::vector<std::pair<std::string_view, std::string_view>> headers;
  std::string body;  // the handler may take it
  std::string remote_address;

  std::string_view path() const;
  // What follows the '?' of the target (empty when none).
  std::string_view query() const;
  // GET routes answer HEAD too, as GET without the body (RFC 9110 §9.3.2).
  bool is_get() const { return method == "GET" || method == "HEAD"; }
  // Case-insensitive; empty when absent.
  std::string_view header(std::string_view name) const;
};

// Not an aggregate on purpose: GCC 12 destroys a brace-initialised aggregate temporary twice when
// it appears in a co_await expression (`co_await send(Response{...})`). Types passed to
// coroutines have constructors; aggregates are built into named variables first.
struct Response {
  Response() = default;
  Response(int status_, std::string_view content_type_, Headers headers_, std::string body_)
      : status(status_),
        content_type(content_type_),
        headers(std::move(headers_)),
        body(std::move(body_)) {}

  int status = 200;
  std::string_view content_type = "application/json";  // a literal: it is not owned
  Headers headers;
  // Headers borrowed from elsewhere (an upstream response's, relayed): no copy of each, but
  // what they point to must outlive send().
  HeaderViews relayed;
  std::string body;
};

// How a request's errors are written for its client: OpenAI's shape by default; the handler
// chooses another API's for its clients (HttpHandler::error_format).
struct ErrorFormat {
  core::ErrorBody body = &core::error_json;        // a response's body
  core::ErrorBody event = &core::sse_error_event;  // a stream's final event
};

Response error_response(const core::Error& error, const ErrorFormat& format = {});

// Writes one response to the client. Implemented by the HTTP session; used by one handler
// coroutine at a time on the session's executor. Every method returns false once the client is
// gone, after which the handler should stop.
class ResponseWriter {
 public:
  virtual ~ResponseWriter() = default;

  // A complete response.
  virtual Task<bool> send(Response response) = 0;
  // Starts a chunked response: each write() is sent and flushed as one chunk. `relayed` as in
  // Response (used before start_stream returns). A non-empty `first_chunk` goes in the same
  // write as the head: the first events of a relayed stream usually arrive with its headers.
  virtual Task<bool> start_stream(int status, std::string_view content_type, Headers headers,
                                  HeaderViews relayed, std::string_view first_chunk) = 0;
  virtual Task<bool> write(std::string_view data) = 0;
  virtual Task<bool> write(std::span<const std::string_view> parts) = 0;
  // A whole stream at once, as start_stream with `whole` as its only chunk and then
  // finish_stream would send it, but in one write (a fast upstream's stream often arrives whole).
  virtual Task<bool> send_stream(int status, std::string_view content_type, Headers headers,
                                 HeaderViews relayed, std::string_view whole) = 0;
  // Ends the stream, sending `last` (if any) as the final chunk in the same write.
  virtual Task<bool> finish_stream(std::string_view last = {}) = 0;
  // Ends a stream that broke off, `last` being its final error event: as finish_stream, unless
  // the writer can have the answer continued elsewhere (a routed attempt's, see
  // app::AttemptWriter).
  virtual Task<bool> fail_stream(std::string_view last) { return finish_stream(last); }

  // Drops the connection at once, mid-response if need be (the client sees a broken response).
  virtual void abort() = 0;

  virtual bool started() const = 0;
  virtual int status() const = 0;

  // How this request's errors are written (respond_error, and the session's own last error).
  ErrorFormat error_format;
};

// Sends a complete response; for handlers that have nothing to do after it. Both own what they
// send: their task may be returned, unawaited, past the life of the caller's temporaries.
Task<void> respond(ResponseWriter& writer, Response response);
Task<void> respond_error(ResponseWriter& writer, core::Error error);
// 405 naming the method and path, with Allow.
Task<void> respond_method_not_allowed(ResponseWriter& writer, const Request& request,
                                      std::string_view allow);

// What a handler notes about each request for its log line and metrics (proxy::RequestLog): made
// by the handler once per connection (HttpHandler::make_notes), reused by its requests, and kept
// by the session from the request's head until HttpHandler::finished.
class ExchangeNotes {
 public:
  ExchangeNotes() = default;
  virtual ~ExchangeNotes() = default;
  ExchangeNotes(const ExchangeNotes&) = default;
  ExchangeNotes& operator=(const ExchangeNotes&) = default;
  ExchangeNotes(ExchangeNotes&&) = default;
  ExchangeNotes& operator=(ExchangeNotes&&) = default;
};

// Why a request's handling was cut short from outside the handler. The session cancels the
// operation the handler waits on, which then completes with operation_aborted (as a value: it
// never throws); the handler asks the exchange which of these happened.
enum class Interruption : uint8_t {
  kNone,
  kClientGone,  // the client closed its end: nothing more can reach it
  kShutdown,    // the drain deadline passed: end the response with an error now
};

struct Exchange {
  Request request;
  std::string request_id;
  ResponseWriter& writer;
  ExchangeNotes* notes = nullptr;  // the handler's (make_notes), or null
  std::chrono::steady_clock::time_point started_at;
  // Owned by the session (outlives the handler); null in tests that drive a handler directly.
  const Interruption* interruption = nullptr;

  Interruption interrupted() const {
    return interruption == nullptr ? Interruption::kNone : *interruption;
  }
  bool client_gone() const { return interrupted() == Interruption::kClientGone; }
};

// Answers requests. One instance per shard (I/O thread); handle() runs on that shard's executor
// and may suspend. The Exchange outlives the handle() coroutine.
class HttpHandler {
 public:
  virtual ~HttpHandler() = default;
  virtual Task<void> handle(Exchange& exchange) = 0;
  // Called once the response is over, however it ended (its status is final then): the place to
  // log and count it.
  virtual void finished(const Exchange& /*exchange*/, int /*status*/, bool /*client_gone*/) {}
  // The notes each request of a new connection gets in Exchange::notes (null: none).
  virtual std::unique_ptr<ExchangeNotes> make_notes() { return nullptr; }
  // How errors to a request for `path` with these headers are written, those the session answers
  // itself (a body too large, a malformed request) included.
  virtual ErrorFormat error_format(std::string_view /*path*/, const MessageHead& /*head*/) const {
    return {};
  }
};

}  // namespace gw::net
