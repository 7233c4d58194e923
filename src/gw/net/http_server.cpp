#include "gw/net/http_server.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/address.hpp>

#include "gw/net/background.hpp"
#include "gw/net/server_internal.hpp"

namespace gw::net {
namespace {

using reuse_port = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

Task<void> accept_loop(HttpServer::Impl& server, Shard& shard) {
  // Refusals at the connection limit are logged once a second with their count, not one line
  // each: a flood of connections must not become a flood of log lines.
  size_t refused = 0;
  auto last_refusal_log = std::chrono::steady_clock::time_point{};
  for (;;) {
    auto [ec, socket] = co_await shard.acceptor->async_accept(kUseTask);
    if (ec) {
      if (ec == asio::error::operation_aborted || shard.stopping) {
        co_return;
      }
      // Out of descriptors and the like: back off briefly instead of spinning.
      spdlog::warn("accept failed: {}", ec.message());
      SteadyTimer pause(shard.context, std::chrono::milliseconds(50));
      co_await pause.async_wait(kUseTask);
      continue;
    }
    if (server.connections.load(std::memory_order_relaxed) >= server.options.max_connections) {
      ++refused;
      const auto now = std::chrono::steady_clock::now();
      if (now - last_refusal_log >= std::chrono::seconds(1)) {
        spdlog::warn("connection limit ({}) reached; refused {} connection(s)",
                     server.options.max_connections, refused);
        refused = 0;
        last_refusal_log = now;
      }
      continue;  // the socket closes as it goes out of scope
    }
    server.connections.fetch_add(1, std::memory_order_relaxed);
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    auto control = std::make_shared<SessionControl>();
    auto slot = control->cancel.slot();
    asio::co_spawn(shard.context, run_session(server, shard, std::move(socket), std::move(control)),
                   asio::bind_cancellation_slot(slot, asio::detached));
  }
}

tl::expected<tcp::endpoint, std::string> resolve_listen_address(const std::string& host,
                                                                uint16_t port) {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (!ec) {
    return tcp::endpoint(address, port);
  }
  asio::io_context ctx;
  TcpResolver resolver(ctx);
  auto results = resolver.resolve(host, std::to_string(port), tcp::resolver::passive, ec);
  if (ec || results.empty()) {
    return tl::unexpected(
        fmt::format("cannot resolve listen host '{}': {}", host, ec ? ec.message() : "no address"));
  }
  return results.begin()->endpoint();
}

// SO_REUSEPORT lets our shards share one port, but it would also let a second gateway started
// on the same port (same user) silently share its traffic. A plain bind first tells "in use".
tl::expected<void, std::string> check_port_free(const tcp::endpoint& endpoint) {
  asio::io_context ctx;
  tcp::acceptor probe(ctx);
  boost::system::error_code ec;
  probe.open(endpoint.protocol(), ec);
  if (!ec) {
    probe.set_option(tcp::acceptor::reuse_address(true), ec);
  }
  if (!ec) {
    probe.bind(endpoint, ec);
  }
  if (ec) {
    return tl::unexpected(ec.message());
  }
  return {};
}

// Thousands of open streams need thousands of descriptors; the soft limit is often 1024.
void raise_descriptor_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

Task<void> shut_down_after_hook(HttpServer::Impl& server) {
  try {
    co_await server.shutdown_hook();
  } catch (const std::exception& e) {
    spdlog::error("shutdown hook failed: {}", e.what());
  }
  server.begin_shutdown();
}

// Asio reprograms its timerfd (a system call) whenever a newly armed timer is the earliest one
// pending. Every read and write deadline is such a timer, and at low load each one would be the
// earliest: three system calls per proxied request. A timer that always expires within the next
// second stays in front of them, so only deadlines shorter than that reach the timerfd.
void arm_timer_floor(Shard& shard) {
  shard.timer_floor->expires_after(std::chrono::seconds(1));
  shard.timer_floor->async_wait([&shard](boost::system::error_code ec) {
    if (!ec && !shard.stopping) {
      arm_timer_floor(shard);
    }
  });
}

// After the drain deadline, what is still in flight is cut: each request's handler is woken with
// Interruption::kShutdown and ends its response with an error (a 503, or a final error event on a
// started stream), which is logged and counted like any other. The shard stops once the last
// session has ended, or at the latest kCutGrace later (a client that reads nothing cannot hold
// the process); frames still suspended then are destroyed before the handlers (see run()).
constexpr std::chrono::seconds kCutGrace{2};

void cut_in_flight(Shard& shard) {
  if (shard.sessions.empty()) {
    shard.context.stop();
    return;
  }
  spdlog::warn("drain timeout: ending {} connection(s) still in flight", shard.sessions.size());
  // Interrupting may end a session (and unregister it) synchronously: iterate over a copy.
  const std::vector<SessionControl*> sessions(shard.sessions.begin(), shard.sessions.end());
  for (SessionControl* session : sessions) {
    if (session->idle) {
      boost::system::error_code ignored;
      session->socket->shutdown(tcp::socket::shutdown_both, ignored);
      session->socket->cancel(ignored);
    } else {
      session->interrupt(Interruption::kShutdown);
    }
  }
  shard.drain_timer->expires_after(kCutGrace);
  shard.drain_timer->async_wait([&shard](boost::system::error_code) {
    if (!shard.sessions.empty()) {
      spdlog::warn("closing {} connection(s) that did not end after the drain timeout",
                   shard.sessions.size());
    }
    shard.context.stop();
  });
}

}  // namespace

void session_finished(HttpServer::Impl& server, Shard& shard) {
  server.connections.fetch_sub(1, std::memory_order_relaxed);
  if (shard.stopping && shard.sessions.empty()) {
    shard.context.stop();
  }
}

namespace {

// Each SIGHUP reads the TLS certificate again and runs the reload hook (on the first shard's
// thread), until shutdown. SIGHUP is caught even with nothing to reload: its default action would
// end the process, and `systemctl reload` or a stray `kill -HUP` must not stop a gateway.
void await_reload_signal(HttpServer::Impl& server) {
  server.reload_signals->async_wait([&server](boost::system::error_code ec, int /*signal*/) {
    if (ec || server.stop_requested) {
      return;
    }
    if (!server.tls && !server.reload_hook) {
      spdlog::info("received SIGHUP: nothing to reload");
    } else {
      spdlog::info("received SIGHUP: reloading");
    }
    if (server.tls) {
      // A bad file leaves the certificate in use: the server keeps serving.
      if (auto reloaded = server.tls->reload(); reloaded) {
        spdlog::info("TLS certificate read again from {}", server.options.tls_cert_file);
      } else {
        spdlog::error("TLS certificate not reloaded, the previous one stays in use: {}",
                      reloaded.error());
      }
    }
    if (server.reload_hook) {
      server.reload_hook();
    }
    await_reload_signal(server);
  });
}

}  // namespace

void HttpServer::Impl::begin_shutdown() {
  if (stop_requested.exchange(true)) {
    return;
  }
  spdlog::info("shutting down: draining in-flight requests (up to {} ms)",
               options.drain_timeout.count());
  for (auto& shard_ptr : shards) {
    Shard& shard = *shard_ptr;
    asio::post(shard.context, [this, &shard] {
      shard.stopping = true;
      boost::system::error_code ignored;
      if (shard.acceptor) {
        shard.acceptor->close(ignored);
      }
      for (SessionControl* session : shard.sessions) {
        if (session->idle) {
          session->socket->shutdown(tcp::socket::shutdown_both, ignored);
          session->socket->cancel(ignored);
        }
      }
      if (shard.sessions.empty()) {
        shard.context.stop();
        return;
      }
      shard.drain_timer.emplace(shard.context, options.drain_timeout);
      shard.drain_timer->async_wait([&shard](boost::system::error_code) { cut_in_flight(shard); });
    });
  }
}

HttpServer::HttpServer(ServerOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  const size_t n = std::max<size_t>(1, impl_->options.threads);
  for (size_t i = 0; i < n; ++i) {
    impl_->shards.push_back(std::make_unique<Shard>(i));
  }
}

HttpServer::~HttpServer() = default;

size_t HttpServer::shard_count() const {
  return impl_->shards.size();
}

asio::io_context& HttpServer::context(size_t shard) {
  return impl_->shards.at(shard)->context;
}

tl::expected<uint16_t, std::string> HttpServer::bind() {
  raise_descriptor_limit();
  if (!impl_->options.tls_cert_file.empty()) {
    auto tls = ServerTls::load(impl_->options.tls_cert_file, impl_->options.tls_key_file);
    if (!tls) {
      return tl::unexpected(tls.error());
    }
    impl_->tls = std::move(*tls);
  }
  auto endpoint = resolve_listen_address(impl_->options.host, impl_->options.port);
  if (!endpoint) {
    return tl::unexpected(endpoint.error());
  }
  if (endpoint->port() != 0) {
    if (auto taken = check_port_free(*endpoint); !taken) {
      return tl::unexpected(fmt::format("cannot listen on {}:{}: {}", impl_->options.host,
                                        endpoint->port(), taken.error()));
    }
  }
  for (auto& shard : impl_->shards) {
    boost::system::error_code ec;
    auto& acceptor = shard->acceptor.emplace(shard->context);
    acceptor.open(endpoint->protocol(), ec);
    if (!ec) {
      acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    }
    if (!ec) {
      acceptor.set_option(reuse_port(true), ec);
    }
    if (!ec) {
      acceptor.bind(*endpoint, ec);
    }
    if (!ec) {
      acceptor.listen(asio::socket_base::max_listen_connections, ec);
    }
    if (ec) {
      return tl::unexpected(fmt::format("cannot listen on {}:{}: {}", impl_->options.host,
                                        endpoint->port(), ec.message()));
    }
    // Port 0 picks a free port once; the other shards join it.
    endpoint->port(acceptor.local_endpoint().port());
  }
  return endpoint->port();
}

void HttpServer::run(const HandlerFactory& factory) {
  // Signals first: the factory may announce readiness, and a SIGTERM sent right after that must
  // already mean a graceful drain.
  Shard& first = *impl_->shards.front();
  impl_->signals.emplace(first.context, SIGINT, SIGTERM);
  impl_->signals->async_wait([this](boost::system::error_code ec, int signal) {
    if (!ec) {
      spdlog::info("received signal {}", signal);
      if (impl_->shutdown_hook) {
        asio::co_spawn(impl_->shards.front()->context, shut_down_after_hook(*impl_),
                       asio::detached);
      } else {
        impl_->begin_shutdown();
      }
    }
  });
  impl_->reload_signals.emplace(first.context, SIGHUP);
  await_reload_signal(*impl_);
  for (auto& shard : impl_->shards) {
    shard->handler = factory(shard->context, shard->index);
    spawn_background(shard->context.get_executor(), "accept",
                     [impl = impl_.get(), raw = shard.get()] { return accept_loop(*impl, *raw); });
    shard->timer_floor.emplace(shard->context);
    arm_timer_floor(*shard);
  }
  std::vector<std::thread> threads;
  for (size_t i = 1; i < impl_->shards.size(); ++i) {
    threads.emplace_back([&shard = *impl_->shards[i]] { shard.context.run(); });
  }
  first.context.run();
  for (auto& t : threads) {
    t.join();
  }
  // Teardown, single-threaded now: first every frame still suspended (background loops, requests
  // past the grace), while the handlers they refer to exist; then the handlers (and their pools)
  // while the contexts, whose services their sockets need, still exist.
  for (auto& shard : impl_->shards) {
    shard->context.destroy_pending_work();
  }
  for (auto& shard : impl_->shards) {
    shard->handler.reset();
  }
}

void HttpServer::set_reload_hook(std::function<void()> hook) {
  impl_->reload_hook = std::move(hook);
}

void HttpServer::set_shutdown_hook(std::function<Task<void>()> hook) {
  impl_->shutdown_hook = std::move(hook);
}

void HttpServer::stop() {
  Shard& first = *impl_->shards.front();
  asio::post(first.context, [this] { impl_->begin_shutdown(); });
}

}  // namespace gw::net
