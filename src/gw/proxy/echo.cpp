// The built-in `echo` model, answered by the gateway itself (tests, health checks, demos).

#include "gw/proxy/echo.hpp"

#include "gw/api/chunk_writer.hpp"
#include "gw/api/completion_json.hpp"
#include "gw/proxy/request_log.hpp"

namespace gw::proxy {

net::Task<void> reply_echo(net::Exchange& exchange, const api::ChatRequestInfo& info) {
  const auto input = api::echo_input(exchange.request.body);
  const auto meta = api::new_completion_meta(info.model);
  const auto tokens = api::split_tokens(input.text);
  const api::Usage usage{static_cast<int64_t>(input.prompt_words),
                         static_cast<int64_t>(tokens.size())};
  log_of(exchange).prompt_tokens = usage.prompt_tokens;
  log_of(exchange).completion_tokens = usage.completion_tokens;
  log_of(exchange).stream = info.stream;
  if (!info.stream) {
    co_return co_await net::respond(
        exchange.writer,
        net::Response{
            200, "application/json", {}, api::completion_json(meta, input.text, "stop", usage)});
  }
  // Every event is ready at once: send them in one write, still one SSE event per token.
  api::ChunkWriter chunks;
  chunks.set_identity(meta.id, meta.created, meta.model);
  std::string events;
  chunks.delta(events, api::kRoleDelta);
  for (auto token : tokens) {
    chunks.content(events, token);
  }
  chunks.delta(events, "{}", "stop");
  if (api::sends_usage_chunk(info)) {
    chunks.usage(events, usage);
  }
  events += api::kSseDone;
  log_of(exchange).outcome = "completed";
  log_of(exchange).first_token_at = std::chrono::steady_clock::now();
  co_await exchange.writer.send_stream(200, "text/event-stream", {}, {}, events);
}

}  // namespace gw::proxy
