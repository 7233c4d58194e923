#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <vector>

#include "gw/api/chat_request.hpp"
#include "gw/api/embeddings_request.hpp"
#include "gw/core/error.hpp"
#include "gw/net/endpoint.hpp"
#include "gw/net/http_message.hpp"

namespace gw::providers {

// Sent upstream by every provider.
inline constexpr std::string_view kUserAgent = "llm-gateway/" GW_VERSION;

struct ModelEntry {
  std::string id;  // as the provider names it
  int64_t created = 0;
};

// One chat-completions call as a provider sees it. `body` is the client's JSON body, already
// validated; the provider may read it, splice it or translate it.
struct ChatCall {
  std::string& body;
  const api::ChatRequestInfo& info;
  std::string_view upstream_model;
  std::string_view request_id;
  // OpenAI-dialect upstreams: ask for usage on streams (stream_options.include_usage).
  bool request_usage = true;
  // Headers of the client's request a native pass-through forwards (Messages: anthropic-version,
  // anthropic-beta). Views into the client's request.
  net::HeaderViews client_headers = {};
  // The body as a tree, when the gateway built it translating another API's request to chat: a
  // provider that translates it further reads this instead of parsing `body` again.
  const boost::json::object* parsed = nullptr;
};

// One embeddings call as a provider sees it. `body` is the client's JSON body, already validated.
struct EmbeddingsCall {
  std::string& body;
  const api::EmbeddingsRequestInfo& info;
  std::string_view upstream_model;
  std::string_view request_id;
};

// What translating a request learned that its answer's translator needs: read from the tree the
// request's translation parsed, so that the translator never parses the body again.
struct AnswerHints {
  bool json_answer = false;  // Anthropic: a JSON answer asked for, given through a tool
  bool forced_call = false;  // Ollama: tool_choice forces a call (OllamaToolMode)
  bool one_call = false;     // Ollama: one call at a time
};

// The upstream request plus the bytes it points into (request.body views `storage` and/or the
// call's body, which must stay alive while the request is sent).
struct PreparedRequest {
  net::OutboundRequest request;
  std::vector<std::string> storage;
  AnswerHints hints;
};

// Turns an upstream success response into OpenAI's chat-completions format.
class ResponseTranslator {
 public:
  virtual ~ResponseTranslator() = default;
  // Non-streaming: the whole upstream body in, the client's body out.
  virtual tl::expected<std::string, core::Error> complete(std::string body) = 0;
  // Streaming: one piece of the upstream body in; the bytes to send to the client now out (only
  // whole SSE events; may be empty). The view is valid until the next call.
  virtual tl::expected<std::string_view, core::Error> feed(std::string_view piece) = 0;
  // Whether the upstream stream reached its proper terminator.
  virtual bool finished() const = 0;
  // Whether the stream relayed an error event of its own (an OpenAI-dialect upstream that failed
  // mid-stream, such as a worker): the client already has a final error, another would be noise.
  virtual bool relayed_error() const { return false; }
  // Streams: the error an upstream sent as an event of its own dialect (Anthropic's `error`
  // event, Ollama's `{"error":...}` line), mapped as its HTTP status would have been; null if
  // none. When it is the stream's first event the relay answers with its status instead of 200.
  virtual const core::Error* stream_error() const { return nullptr; }
  // Streams: the token counts seen so far (a cut stream still reports what it got).
  virtual api::Usage usage() const { return {}; }
  // Non-streamed: the usage complete() read from the body in passing, when it parsed it (the
  // relayed dialects validate the body anyway); nullopt leaves it to the caller.
  virtual std::optional<api::Usage> completion_usage() const { return std::nullopt; }
  // Streams: the final event that ends a stream the relay cannot complete (the upstream broke off,
  // or sent an event too long): OpenAI's error event by default.
  virtual std::string final_error_event(const core::Error& error) {
    return core::sse_error_event(error);
  }
  // Streams: the event that tells the client (and any proxy between) that the stream is alive
  // while the upstream is silent: an SSE comment, which every SSE client skips by specification
  // (Anthropic's dialect: its own ping event).
  virtual std::string_view keepalive_event() const { return ": keep-alive\n\n"; }
  // Streams: bytes held for an event (or line) that has not ended yet. The relay bounds it: an
  // upstream that never ends an event must not grow the gateway's memory without limit.
  virtual size_t buffered() const = 0;
};

// Empties a translating feed()'s output for the events made from `input` bytes, with room for
// them up front (a translated event runs up to about twice its source): one allocation for the
// first piece of a stream, none after, instead of a reallocation every few events.
inline void start_output(std::string& out, size_t input) {
  out.clear();
  out.reserve(2 * input + 256);
}

// An upstream LLM API. Implementations are immutable after construction and shared by all shards
// (thread-safe const methods); they build requests and translate bytes but own no sockets.
class Provider {
 public:
  virtual ~Provider() = default;
  // The model prefix that selects this provider ("openai", "ollama", ...).
  virtual std::string_view name() const = 0;
  virtual const net::Endpoint& endpoint() const = 0;

  virtual tl::expected<PreparedRequest, core::Error> prepare_chat(const ChatCall& call) const = 0;
  virtual std::unique_ptr<ResponseTranslator> translator(const ChatCall& call,
                                                         const AnswerHints& hints) const = 0;
  // POST /v1/completions (legacy): `call.info` as for chat, read from a completions body. By
  // default the provider has none: a 400 that says so.
  virtual tl::expected<PreparedRequest, core::Error> prepare_completions(
      const ChatCall& call) const;
  // By default the answer (or stream) is in OpenAI's format already: relayed as chat is.
  virtual std::unique_ptr<ResponseTranslator> completions_translator(
      const ChatCall& call, const AnswerHints& hints) const;

  // POST /v1/responses natively: the body spliced (`call.info` from api::inspect_responses_request)
  // and the answer relayed as it is (make_responses_pass_through). A provider without it, the
  // default, gets the request translated to chat (api::responses_to_chat).
  virtual bool has_responses_api() const { return false; }
  virtual tl::expected<PreparedRequest, core::Error> prepare_responses(const ChatCall& call) const;

  // POST /v1/messages (Anthropic's Messages API) natively: the body spliced (`call.info` from
  // api::inspect_messages_request) and the answer relayed as it is (make_messages_pass_through).
  // A provider without it, the default, gets the request translated to chat
  // (api::messages_to_chat).
  virtual bool has_messages_api() const { return false; }
  virtual tl::expected<PreparedRequest, core::Error> prepare_messages(const ChatCall& call) const;
  // POST /v1/messages/count_tokens (`call.info` from api::inspect_count_tokens_request): to
  // Anthropic's own, or to another provider's token count (OpenAI's /responses/input_tokens) with
  // count_tokens_translator giving its answer Anthropic's shape. By default the provider has
  // none: a 400 that says so.
  virtual tl::expected<PreparedRequest, core::Error> prepare_count_tokens(
      const ChatCall& call) const;
  // By default the answer is Anthropic's already: relayed as it is.
  virtual std::unique_ptr<ResponseTranslator> count_tokens_translator() const;

  // POST /v1/embeddings. By default the provider has none: a 400 that says so.
  virtual tl::expected<PreparedRequest, core::Error> prepare_embeddings(
      const EmbeddingsCall& call) const;
  // By default the answer is in OpenAI's format already: relayed once known to be a JSON object.
  virtual std::unique_ptr<ResponseTranslator> embeddings_translator(
      const EmbeddingsCall& call) const;

  // Whether an upstream success response with this content type is a stream to translate
  // piece by piece (SSE for OpenAI's and Anthropic's dialects, NDJSON for Ollama's).
  virtual bool is_stream(std::string_view content_type) const {
    return content_type.starts_with("text/event-stream");
  }
  // An upstream answer with a non-2xx status, as the error the client gets.
  virtual core::Error map_error(int status, std::string_view body,
                                std::string_view retry_after) const = 0;

  // Model discovery; a provider that cannot list returns a request with an empty path.
  virtual net::OutboundRequest models_request() const = 0;
  virtual tl::expected<std::vector<ModelEntry>, std::string> parse_models(
      std::string_view body) const = 0;
  // Other names a listed model answers to (e.g. Ollama's "llama3" for "llama3:latest").
  virtual std::vector<std::string> aliases(std::string_view model_id) const;
  // Models known from configuration rather than from a listing endpoint (Azure deployments).
  virtual std::vector<ModelEntry> configured_models() const { return {}; }
  // Whether /v1/models shows this provider's models as "provider/id" even when unambiguous.
  virtual bool lists_prefixed() const { return false; }

  // Whether streams still ask this upstream for usage: a strict OpenAI-compatible server may
  // refuse the stream_options field (400/422), after which the gateway stops sending it there.
  bool asks_for_usage() const { return asks_for_usage_.load(std::memory_order_relaxed); }
  void stop_asking_for_usage() const { asks_for_usage_.store(false, std::memory_order_relaxed); }

 private:
  mutable std::atomic<bool> asks_for_usage_{true};
};

// The default mapping of an upstream error: OpenAI-shaped bodies keep their message, type, code
// and param; 4xx keep their status; 429 keeps Retry-After; 5xx become 502.
core::Error map_upstream_error(std::string_view provider, int status, std::string_view body,
                               std::string_view retry_after);

}  // namespace gw::providers
