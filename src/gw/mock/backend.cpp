#include "gw/mock/backend.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>

#include "gw/core/parse.hpp"
#include "gw/mock/anthropic.hpp"
#include "gw/mock/azure.hpp"
#include "gw/mock/common.hpp"
#include "gw/mock/completions.hpp"
#include "gw/mock/embeddings.hpp"
#include "gw/mock/ollama.hpp"
#include "gw/mock/openai.hpp"
#include "gw/mock/responses.hpp"
#include "gw/net/http_server.hpp"
#include "gw/net/key_check.hpp"

namespace gw::mock {
namespace {

namespace asio = boost::asio;

using net::Exchange;
using net::Response;
using net::Task;

// Routes to the dialects: OpenAI's, Azure OpenAI's deployment URLs, Ollama's native API, and
// Anthropic's, whose clients are told apart by the headers they always send. Only the OpenAI
// routes check a Bearer key: Azure checks its api-key, Anthropic its x-api-key, Ollama none.
class MockHandler final : public net::HttpHandler {
 public:
  MockHandler(const MockOptions& options, mock::MockStats& stats)
      : options_(options), stats_(stats) {}

  Task<void> handle(Exchange& exchange) override {
    const auto& request = exchange.request;
    const auto path = request.path();
    if (path == "/health") {
      co_return co_await net::respond(exchange.writer,
                                      Response{200, "application/json", {}, R"({"status":"ok"})"});
    }
    if (path == "/mock/fail-status" && request.method == "POST") {
      auto status = core::parse_int(request.body);
      if (!status || (*status != 0 && (*status < 400 || *status > 599))) {
        co_return co_await net::respond_error(
            exchange.writer,
            {core::Errc::kInvalidRequest, "the body must be 0 or an HTTP error status (400-599)"});
      }
      stats_.fail_status = static_cast<int>(*status);
      co_return co_await net::respond(exchange.writer,
                                      Response{200, "application/json", {}, R"({"status":"ok"})"});
    }
    if (path == "/mock/stats") {
      co_return co_await net::respond(
          exchange.writer, Response{200, "application/json", {}, mock::stats_json(stats_)});
    }
    if (path == "/v1/messages/count_tokens" && request.method == "POST") {
      co_return co_await mock::serve_anthropic_count_tokens(options_, stats_, exchange);
    }
    if (path == "/v1/messages" && request.method == "POST") {
      co_return co_await mock::serve_anthropic_messages(options_, stats_, exchange);
    }
    if (path == "/v1/models" && request.method == "GET" && mock::is_anthropic_client(request)) {
      auto failure = mock::anthropic_auth_failure(options_, request);
      Response response = failure ? std::move(*failure) : mock::anthropic_models(options_.models);
      co_return co_await net::respond(exchange.writer, std::move(response));
    }
    if (path == "/api/chat" && request.method == "POST") {
      co_return co_await mock::serve_ollama_chat(options_, stats_, exchange);
    }
    if (path == "/api/generate" && request.method == "POST") {
      co_return co_await mock::serve_ollama_generate(options_, stats_, exchange);
    }
    if (path == "/api/embed" && request.method == "POST") {
      co_return co_await mock::serve_ollama_embed(options_, stats_, exchange);
    }
    if (path == "/api/tags" && request.method == "GET") {
      co_return co_await net::respond(exchange.writer, mock::ollama_tags(options_.models));
    }
    if (path == "/openai/v1/responses" && request.method == "POST") {
      co_return co_await mock::serve_openai_responses(options_, stats_, exchange, true);
    }
    if (path.starts_with("/openai/") && request.method == "POST") {
      co_return co_await mock::serve_azure(options_, stats_, exchange);
    }
    if (!options_.api_key.empty() &&
        !net::bearer_key_matches(request.header("authorization"), {options_.api_key})) {
      co_return co_await net::respond_error(
          exchange.writer,
          {core::Errc::kUnauthorized, "Incorrect API key provided (mock-backend)."});
    }
    if (path == "/v1/models" && request.method == "GET") {
      co_return co_await net::respond(exchange.writer,
                                      Response{200, "application/json", {}, models_json()});
    }
    if (path == "/v1/chat/completions" && request.method == "POST") {
      co_return co_await mock::serve_openai_chat(options_, stats_, exchange);
    }
    if (path == "/v1/embeddings" && request.method == "POST") {
      co_return co_await mock::serve_openai_embeddings(options_, stats_, exchange);
    }
    if (path == "/v1/completions" && request.method == "POST") {
      co_return co_await mock::serve_openai_completions(options_, stats_, exchange);
    }
    if (path == "/v1/responses/input_tokens" && request.method == "POST") {
      co_return co_await mock::serve_openai_input_tokens(stats_, exchange);
    }
    if (path == "/v1/responses" && request.method == "POST") {
      co_return co_await mock::serve_openai_responses(options_, stats_, exchange);
    }
    co_await exchange.writer.send(net::error_response(
        {core::Errc::kNotFound, fmt::format("Invalid URL ({} {})", request.method, path)}));
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

  const MockOptions& options_;
  mock::MockStats& stats_;
};

}  // namespace

tl::expected<MockOptions, std::string> load_mock_options(const core::Settings& settings) {
  core::ConfigReader reader(settings);
  MockOptions options;
  options.host = reader.text("MOCK_HOST", options.host);
  options.port = reader.port("MOCK_PORT", options.port);
  options.threads = static_cast<size_t>(reader.integer("MOCK_THREADS", 1, 1, 256));
  options.log = core::read_log_config(reader);
  if (auto models = reader.optional_text("MOCK_MODELS")) {
    options.models = core::split_list(*models);
  }
  options.api_key = reader.text("MOCK_API_KEY");
  options.ttft = std::chrono::milliseconds(reader.integer("MOCK_TTFT_MS", 0, 0, 86'400'000));
  options.token_delay =
      std::chrono::milliseconds(reader.integer("MOCK_TOKEN_DELAY_MS", 0, 0, 86'400'000));
  options.first_event_delay =
      std::chrono::milliseconds(reader.integer("MOCK_FIRST_EVENT_DELAY_MS", 0, 0, 86'400'000));
  options.tokens = reader.integer("MOCK_TOKENS", 0, 0, 10'000'000);
  options.fail_status = static_cast<int>(reader.integer("MOCK_FAIL_STATUS", 0, 0, 599));
  if (options.fail_status != 0 && options.fail_status < 400) {
    reader.fail(*settings.get("MOCK_FAIL_STATUS"), "must be 0 or an HTTP error status (400-599)");
  }
  options.retry_after = reader.text("MOCK_RETRY_AFTER");
  options.cut_after = reader.integer("MOCK_CUT_AFTER", 0, 0, 10'000'000);
  options.stall_after = reader.integer("MOCK_STALL_AFTER", 0, 0, 10'000'000);
  options.stream_error = reader.text("MOCK_STREAM_ERROR");
  options.strict = reader.boolean("MOCK_STRICT", false);
  options.whole_stream = reader.boolean("MOCK_WHOLE_STREAM", false);
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
  // Before the server: frames of requests cut off by a drain timeout still count into it while
  // the server is destroyed.
  mock::MockStats stats;
  stats.fail_status = options.fail_status;
  net::HttpServer server(http);
  auto port = server.bind();
  if (!port) {
    spdlog::critical("{}", port.error());
    return 1;
  }
  server.run([&](asio::io_context&, size_t shard) -> std::shared_ptr<net::HttpHandler> {
    if (shard == 0) {
      spdlog::info("llm-gateway mock-backend listening on http://{}:{}", options.host, *port);
    }
    return std::make_shared<MockHandler>(options, stats);
  });
  return 0;
}

}  // namespace gw::mock
