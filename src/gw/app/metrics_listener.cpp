#include "gw/app/metrics_listener.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "gw/proxy/observe.hpp"

namespace gw::app {

using proxy::serve_metrics;
namespace {

class MetricsOnly final : public net::HttpHandler {
 public:
  explicit MetricsOnly(const metrics::Metrics& metrics) : metrics_(metrics) {}

  net::Task<void> handle(net::Exchange& exchange) override {
    const std::string_view path = exchange.request.path();
    if (path == "/metrics") {
      co_return co_await serve_metrics(exchange, metrics_);
    }
    if (path == "/health") {
      net::Response response{200, "application/json", {}, R"({"status":"ok"})"};
      co_return co_await net::respond(exchange.writer, std::move(response));
    }
    co_await net::respond_error(
        exchange.writer,
        {core::Errc::kNotFound, fmt::format("Invalid URL ({} {}): this port serves /metrics",
                                            exchange.request.method, path)});
  }

 private:
  const metrics::Metrics& metrics_;
};

}  // namespace

MetricsListener::~MetricsListener() {
  if (server_) {
    server_->stop();
  }
  if (thread_.joinable()) {
    thread_.join();
  }
}

tl::expected<uint16_t, std::string> MetricsListener::start(const std::string& host, uint16_t port,
                                                           const metrics::Metrics& metrics) {
  net::ServerOptions options;
  options.host = host;
  options.port = port;
  options.threads = 1;
  options.drain_timeout = std::chrono::milliseconds(1000);
  server_ = std::make_unique<net::HttpServer>(options);
  auto bound = server_->bind();
  if (!bound) {
    return tl::unexpected(bound.error());
  }
  spdlog::info("metrics on http://{}:{}/metrics", host, *bound);
  thread_ = std::thread([this, &metrics] {
    server_->run([&](boost::asio::io_context&, size_t) -> std::shared_ptr<net::HttpHandler> {
      return std::make_shared<MetricsOnly>(metrics);
    });
  });
  return *bound;
}

std::optional<uint16_t> bind_listeners(net::HttpServer& server, const std::string& host,
                                       const std::optional<uint16_t>& metrics_port,
                                       MetricsListener& listener, const metrics::Metrics& metrics) {
  if (metrics_port) {
    if (auto started = listener.start(host, *metrics_port, metrics); !started) {
      spdlog::critical("{}", started.error());
      return std::nullopt;
    }
  }
  auto port = server.bind();
  if (!port) {
    spdlog::critical("{}", port.error());
    return std::nullopt;
  }
  return *port;
}

}  // namespace gw::app
