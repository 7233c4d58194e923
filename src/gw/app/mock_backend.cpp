#include "gw/app/mock_backend.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <mutex>

#include "gw/api/chat_request.hpp"
#include "gw/api/completion_json.hpp"
#include "gw/app/gateway_handler.hpp"
#include "gw/app/server_config.hpp"
#include "gw/core/parse.hpp"
#include "gw/net/http_server.hpp"

namespace gw::app {
namespace {

namespace asio = boost::asio;

using net::Exchange;
using net::Response;
using net::Task;

// Counters the tests read through GET /mock/stats (shared by all mock threads).
struct MockStats {
  std::atomic<int64_t> requests{0};
  std::atomic<int64_t> completed{0};
  std::atomic<int64_t> cancelled{0};
  std::atomic<int64_t> in_flight{0};
  std::mutex mutex;
  std::string last_request;  // JSON: path, headers, body of the last chat request
};

// Counts a chat request as completed or, when it ends any other way, cancelled.
class RequestTracker {
 public:
  explicit RequestTracker(MockStats& stats) : stats_(stats) {
    stats_.requests++;
    stats_.in_flight++;
  }
  ~RequestTracker() {
    stats_.in_flight--;
    (completed_ ? stats_.completed : stats_.cancelled)++;
  }
  RequestTracker(const RequestTracker&) = delete;
  RequestTracker& operator=(const RequestTracker&) = delete;
  void complete() { completed_ = true; }

 private:
  MockStats& stats_;
  bool completed_ = false;
};

std::string describe_request(const net::Request& request) {
  std::string out = R"({"path":")";
  core::append_json_escaped(out, request.target);
  out += R"(","headers":{)";
  bool first = true;
  for (const auto& [name, value] : request.headers) {
    out += first ? "\"" : ",\"";
    first = false;
    std::string lower(name);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    core::append_json_escaped(out, lower);
    out += "\":\"";
    core::append_json_escaped(out, value);
    out += '"';
  }
  out += R"(},"body":")";
  core::append_json_escaped(out, request.body);
  out += "\"}";
  return out;
}

// What OpenAI sends with every answer; the gateway relays these.
net::Headers rate_limit_headers() {
  return {{"x-ratelimit-limit-requests", "10000"},
          {"x-ratelimit-remaining-requests", "9999"},
          {"openai-processing-ms", "1"}};
}

// Returns false when cancelled (the client went away).
Task<bool> pause(std::chrono::milliseconds delay) {
  if (delay.count() <= 0) {
    co_return true;
  }
  asio::steady_timer timer(co_await asio::this_coro::executor, delay);
  auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  co_return !ec;
}

class MockHandler final : public net::HttpHandler {
 public:
  MockHandler(const MockOptions& options, MockStats& stats) : options_(options), stats_(stats) {}

  Task<void> handle(Exchange& exchange) override {
    const auto path = exchange.request.path();
    if (path == "/health") {
      co_return co_await net::respond(exchange.writer,
                                      Response{200, "application/json", {}, R"({"status":"ok"})"});
    }
    if (path == "/mock/stats") {
      std::string body;
      {
        std::lock_guard lock(stats_.mutex);
        body = fmt::format(
            R"({{"requests":{},"completed":{},"cancelled":{},"in_flight":{},"last_request":{}}})",
            stats_.requests.load(), stats_.completed.load(), stats_.cancelled.load(),
            stats_.in_flight.load(), stats_.last_request.empty() ? "null" : stats_.last_request);
      }
      co_return co_await net::respond(exchange.writer,
                                      Response{200, "application/json", {}, std::move(body)});
    }
    if (!options_.api_key.empty() &&
        !bearer_key_matches(exchange.request.header("authorization"), {options_.api_key})) {
      co_return co_await net::respond_error(
          exchange.writer,
          {core::Errc::kUnauthorized, "Incorrect API key provided (mock-backend)."});
    }
    if (path == "/v1/models" && exchange.request.method == "GET") {
      co_return co_await net::respond(exchange.writer,
                                      Response{200, "application/json", {}, models_json()});
    }
    if (path == "/v1/chat/completions" && exchange.request.method == "POST") {
      co_return co_await chat(exchange);
    }
    co_await exchange.writer.send(
        net::error_response({core::Errc::kNotFound,
                             fmt::format("Invalid URL ({} {})", exchange.request.method, path)}));
  }

 private:
  std::string models_json() const {
    std::string out = R"({"object":"list","data":[)";
    for (size_t i = 0; i < options_.models.size(); ++i) {
      out +=
          fmt::format(R"({}{{"id":"{}","object":"model","created":1700000000,"owned_by":"mock"}})",
                      i == 0 ? "" : ",", options_.models[i]);
    }
    out += "]}";
    return out;
  }

  Task<void> chat(Exchange& exchange) {
    RequestTracker tracker(stats_);
    {
      std::string described = describe_request(exchange.request);
      std::lock_guard lock(stats_.mutex);
      stats_.last_request = std::move(described);
    }
    if (options_.fail_status != 0) {
      core::Error error(
          core::Errc::kUpstreamStatus,
          fmt::format("mock-backend failure injected: HTTP {}", options_.fail_status));
      error.status = options_.fail_status;
      error.type = options_.fail_status >= 500 ? "server_error" : "invalid_request_error";
      error.code = "mock_failure";
      error.retry_after = options_.retry_after;
      co_await exchange.writer.send(net::error_response(error));
      tracker.complete();
      co_return;
    }
    auto info = api::inspect_chat_request(exchange.request.body);
    if (!info) {
      co_await exchange.writer.send(net::error_response(info.error()));
      tracker.complete();
      co_return;
    }
    const auto input = api::echo_input(exchange.request.body);
    std::vector<std::string_view> tokens = api::split_tokens(input.text);
    if (options_.tokens > 0) {
      const auto base = tokens.empty() ? std::vector<std::string_view>{" token"} : tokens;
      tokens.clear();
      for (int64_t i = 0; i < options_.tokens; ++i) {
        std::string_view t = base[static_cast<size_t>(i) % base.size()];
        tokens.push_back(i == 0 && !t.empty() && t.front() == ' ' ? t.substr(1) : t);
      }
    }
    const auto meta = api::new_completion_meta(info->model);
    const api::Usage usage{static_cast<int64_t>(input.prompt_words),
                           static_cast<int64_t>(tokens.size())};
    if (!co_await pause(options_.ttft)) {
      co_return;
    }
    if (!info->stream) {
      std::string content;
      for (auto t : tokens) {
        content += t;
      }
      if (co_await exchange.writer.send(
              Response{200, "application/json", rate_limit_headers(),
                       api::completion_json(meta, content, "stop", usage)})) {
        tracker.complete();
      }
      co_return;
    }
    if (!co_await exchange.writer.start_stream(200, "text/event-stream", rate_limit_headers())) {
      co_return;
    }
    int64_t sent = 0;
    const std::string role = api::sse_data(api::chunk_json(meta, {.role = true, .content = ""}));
    if (!co_await emit(exchange, sent, role)) {
      co_return;
    }
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (i > 0 && !co_await pause(options_.token_delay)) {
        co_return;
      }
      const std::string event = api::sse_data(api::chunk_json(meta, {.content = tokens[i]}));
      if (!co_await emit(exchange, sent, event)) {
        co_return;
      }
    }
    std::string tail = api::sse_data(api::chunk_json(meta, {.finish_reason = "stop"}));
    if (info->include_usage) {
      tail += api::sse_data(api::chunk_json(meta, {.usage = usage}));
    }
    tail += api::kSseDone;
    if (options_.cut_after > 0 && sent >= options_.cut_after) {
      exchange.writer.abort();
      co_return;
    }
    if (co_await exchange.writer.finish_stream(tail)) {
      tracker.complete();
    }
  }

  // Sends one stream event unless the fault injection says the stream ends here (cut or stall).
  // Returns false when the stream must stop (including when the client left).
  Task<bool> emit(Exchange& exchange, int64_t& sent, std::string_view event) {
    if (options_.cut_after > 0 && sent >= options_.cut_after) {
      exchange.writer.abort();
      co_return false;
    }
    if (options_.stall_after > 0 && sent >= options_.stall_after) {
      co_await pause(std::chrono::hours(24 * 365));
      co_return false;
    }
    ++sent;
    co_return co_await exchange.writer.write(event);
  }

  const MockOptions& options_;
  MockStats& stats_;
};

}  // namespace

tl::expected<MockOptions, std::string> load_mock_options(const core::Settings& settings) {
  core::ConfigReader reader(settings);
  MockOptions options;
  options.host = reader.text("MOCK_HOST", options.host);
  options.port = reader.port("MOCK_PORT", options.port);
  options.threads = static_cast<size_t>(reader.integer("MOCK_THREADS", 1, 1, 256));
  auto log = read_log_config(reader);
  options.log_level = log.level;
  options.log_format = log.format;
  if (auto models = reader.optional_text("MOCK_MODELS")) {
    options.models = core::split_list(*models);
  }
  options.api_key = reader.text("MOCK_API_KEY");
  options.ttft = std::chrono::milliseconds(reader.integer("MOCK_TTFT_MS", 0, 0, 86'400'000));
  options.token_delay =
      std::chrono::milliseconds(reader.integer("MOCK_TOKEN_DELAY_MS", 0, 0, 86'400'000));
  options.tokens = reader.integer("MOCK_TOKENS", 0, 0, 10'000'000);
  options.fail_status = static_cast<int>(reader.integer("MOCK_FAIL_STATUS", 0, 0, 599));
  if (options.fail_status != 0 && options.fail_status < 400) {
    reader.fail(*settings.get("MOCK_FAIL_STATUS"), "must be 0 or an HTTP error status (400-599)");
  }
  options.retry_after = reader.text("MOCK_RETRY_AFTER");
  options.cut_after = reader.integer("MOCK_CUT_AFTER", 0, 0, 10'000'000);
  options.stall_after = reader.integer("MOCK_STALL_AFTER", 0, 0, 10'000'000);
  if (reader.error()) {
    return tl::unexpected(*reader.error());
  }
  return options;
}

int run_mock_backend(const MockOptions& options) {
  net::ServerOptions http;
  http.host = options.host;
  http.port = options.port;
  http.threads = options.threads;
  http.access_log = false;  // a load generator's target must not spend its time logging
  net::HttpServer server(http);
  auto port = server.bind();
  if (!port) {
    spdlog::critical("{}", port.error());
    return 1;
  }
  MockStats stats;
  server.run([&](asio::io_context&, size_t shard) -> std::shared_ptr<net::HttpHandler> {
    if (shard == 0) {
      spdlog::info("llm-gateway mock-backend listening on http://{}:{}", options.host, *port);
    }
    return std::make_shared<MockHandler>(options, stats);
  });
  return 0;
}

}  // namespace gw::app
