#pragma once

#include <atomic>
#include <boost/json/fwd.hpp>
#include <boost/json/parse_options.hpp>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "gw/mock/backend.hpp"
#include "gw/net/http_types.hpp"

// What the mock backend's dialects (OpenAI chat completions, Anthropic messages) share: request
// accounting for /mock/stats, pacing and fault injection of streams, and how an answer is made.
namespace gw::mock {

// Counters the tests read through GET /mock/stats (shared by all mock threads).
struct MockStats {
  std::atomic<int64_t> requests{0};
  std::atomic<int64_t> completed{0};
  std::atomic<int64_t> cancelled{0};
  std::atomic<int64_t> in_flight{0};
  // --fail-status, changed at run time by POST /mock/fail-status (a backend that fails, then
  // recovers).
  std::atomic<int> fail_status{0};
  std::mutex mutex;
  std::string last_request;  // JSON: path, headers, body of the last chat request
};

std::string stats_json(MockStats& stats);

// Records a chat request as the last one seen and counts it as completed or, when it ends any
// other way (client gone, cut, stall), cancelled.
class RequestTracker {
 public:
  RequestTracker(MockStats& stats, const net::Request& request);
  ~RequestTracker();
  RequestTracker(const RequestTracker&) = delete;
  RequestTracker& operator=(const RequestTracker&) = delete;
  void complete() { completed_ = true; }

 private:
  MockStats& stats_;
  bool completed_ = false;
};

// Constant-time comparison of a presented key with the configured one.
bool api_key_matches(std::string_view presented, const std::string& key);

// Returns false when cancelled (the client went away).
net::Task<bool> pause(std::chrono::milliseconds delay);

// One streamed response with --token-delay-ms pacing and --cut-after/--stall-after applied to the
// events it sends. Lives in the serving coroutine's frame, next to the writer it refers to.
class EventStream {
 public:
  EventStream(const MockOptions& options, net::ResponseWriter& writer)
      : options_(options), writer_(writer) {}

  // Sends one event unless the fault injection ends the stream here. The stream's first event
  // waits --first-event-delay-ms, a later content event --token-delay-ms. Returns false when the
  // stream must stop (including when the client left).
  net::Task<bool> emit(std::string_view event, bool content = false);
  // Ends the stream with `last`, which counts as one more event.
  net::Task<bool> finish(std::string_view last);

 private:
  net::Task<bool> gate();

  const MockOptions& options_;
  net::ResponseWriter& writer_;
  int64_t sent_ = 0;
  bool content_sent_ = false;
  std::string whole_;  // --whole-stream: the events so far, written by finish()
};

// The answer's tokens: the words of `text` (each with its leading white space), or exactly
// --tokens N of them, cycling through the words (" token" when there are none).
std::vector<std::string_view> answer_tokens(std::string_view text, int64_t forced);

// Splits `text` into `parts` roughly equal fragments, never inside a UTF-8 sequence, so that a
// streamed JSON text arrives in pieces the way real providers send tool arguments.
std::vector<std::string_view> utf8_fragments(std::string_view text, size_t parts);

// A message content as text: the string itself, or the `text` of its parts joined by a space.
std::string content_text(const boost::json::value* content);

// {"query":"<text>"}: the deterministic arguments of every mock tool call.
std::string tool_arguments(std::string_view text);

size_t count_words(std::string_view text);

// A value that satisfies a JSON schema, as constrained decoding would give one: strings are
// `text`, the first of an enum or anyOf, every property of an object; deterministic.
boost::json::value instance_of(const boost::json::value& schema, const std::string& text,
                               int depth = 0);

// Request bodies nest as deep as the providers allow (a tool's JSON schema may): not Boost.JSON's
// default of 32.
boost::json::parse_options deep_json();

}  // namespace gw::mock
