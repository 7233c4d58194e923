#include "gw/providers/openai_compatible.hpp"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <utility>
#include <vector>

#include "gw/api/messages_to_chat.hpp"
#include "gw/core/parse.hpp"
#include "gw/net/sse.hpp"
#include "gw/providers/common/model_list.hpp"
#include "gw/providers/messages.hpp"

namespace gw::providers {
namespace {

// Anchored on a byte rare in chunks (of the usual keys, only "logprobs" and "system_fingerprint"
// hold a g).
constexpr core::Substring kUsageKey(R"("usage":{)", 'g');
constexpr core::Substring kNoChoices(R"("choices":[])", '[');

class PassThrough final : public ResponseTranslator {
 public:
  explicit PassThrough(bool strip_usage) : strip_usage_(strip_usage) {}

  tl::expected<std::string, core::Error> complete(std::string body) override {
    return relayed_completion(std::move(body), completion_usage_);
  }
  std::optional<api::Usage> completion_usage() const override { return completion_usage_; }

  tl::expected<std::string_view, core::Error> feed(std::string_view piece) override {
    if (done_) {
      return std::string_view();  // the stream ended at [DONE]: whatever follows is dropped
    }
    std::string_view ready = events_.next(piece);
    size_t done_end = std::string_view::npos;
    size_t event_start = 0;  // where the event being dispatched may begin in `ready`
    strip_.clear();
    parser_.feed_events(ready, [&](const net::SseEvent& event) {
      const size_t start = std::exchange(event_start, event.end);
      if (done_) {
        return;  // nothing after the terminator is relayed (or counted)
      }
      if (event.data == "[DONE]") {
        done_ = true;
        done_end = event.end;
      } else if (event.data.starts_with(R"({"error")")) {
        error_ = true;
      } else if (kUsageKey.in(event.data)) {
        if (auto counts = api::read_usage(event.data)) {
          usage_ = *counts;
          if (strip_usage_ && is_usage_only(event.data)) {
            strip_event(ready, start, event);
          }
        }
      }
    });
    if (done_end < ready.size()) {
      ready = ready.substr(0, done_end);
    }
    if (done_) {
      events_.clear();  // after [DONE]: dropped, not held (`ready` views the piece or its buffer)
    }
    if (!strip_.empty()) {
      ready = without(ready, strip_);
    }
    return ready;
  }

  bool finished() const override { return done_; }
  bool relayed_error() const override { return error_; }
  api::Usage usage() const override { return usage_; }
  size_t buffered() const override { return events_.held(); }

 private:
  // OpenAI's usage chunk has an empty choices array; chunks that carry content keep their usage.
  static bool is_usage_only(std::string_view data) { return kNoChoices.in(data); }

  // The ranges of `ready` that drop a usage-only event (ending at `event.end`, after `start`,
  // the previous event's end): the lines of its own block — after the last blank line before it,
  // so an id-only block or a comment between stays — except its `id` lines, which the following
  // events inherit (they stay, with the blank line that ends the block).
  void strip_event(std::string_view ready, size_t start, const net::SseEvent& event) {
    auto next_line = [&](size_t eol) {
      return eol + (ready[eol] == '\r' && eol + 1 < ready.size() && ready[eol + 1] == '\n' ? 2 : 1);
    };
    size_t block = start;
    for (size_t pos = start; pos < event.end;) {
      const size_t eol = net::find_line_end(ready, pos);
      if (eol == std::string_view::npos || eol >= event.end) {
        break;
      }
      const size_t next = next_line(eol);
      if (eol == pos && next < event.end) {
        block = next;  // a blank line before the event's own: its block begins after it
      }
      pos = next;
    }
    size_t cut_from = block;
    bool kept_id = false;
    size_t last_line = block;  // the block's blank line, once found
    for (size_t pos = block; pos < event.end;) {
      size_t eol = net::find_line_end(ready, pos);
      if (eol == std::string_view::npos || eol >= event.end) {
        eol = event.end;
      }
      const std::string_view line = ready.substr(pos, eol - pos);
      const size_t next = eol < event.end ? next_line(eol) : event.end;
      if (line == "id" || line.starts_with("id:")) {
        if (pos > cut_from) {
          strip_.emplace_back(cut_from, pos);
        }
        cut_from = next;
        kept_id = true;
      }
      last_line = pos;
      pos = next;
    }
    const size_t cut_to = kept_id ? last_line : event.end;
    if (cut_to > cut_from) {
      strip_.emplace_back(cut_from, cut_to);
    }
  }

  // Rare (once per stream): the ready bytes without the usage-only chunks, cut at the event
  // boundaries the parser reported.
  std::string_view without(std::string_view ready,
                           const std::vector<std::pair<size_t, size_t>>& ranges) {
    stripped_.clear();
    stripped_.reserve(ready.size());
    size_t kept = 0;
    for (const auto& [start, end] : ranges) {
      stripped_.append(ready.substr(kept, start - kept));
      kept = end;
    }
    stripped_.append(ready.substr(std::min(kept, ready.size())));
    return stripped_;
  }

  bool strip_usage_;
  net::SseParser parser_;
  WholeEvents events_;
  std::string stripped_;
  std::vector<std::pair<size_t, size_t>> strip_;  // event ranges in the ready bytes to leave out
  bool done_ = false;
  bool error_ = false;
  api::Usage usage_;
  std::optional<api::Usage> completion_usage_;
};

}  // namespace

tl::expected<std::string, core::Error> relayed_completion(std::string body,
                                                          std::optional<api::Usage>& usage) {
  auto check = api::check_json_object(body);
  if (!check.is_object) {
    return tl::unexpected(core::Error{
        core::Errc::kUpstreamError, "upstream answered 200 with a body that is not a JSON object"});
  }
  usage = check.usage.value_or(api::Usage{});  // parsed: no usage means none, not "look again"
  return body;
}

std::string_view WholeEvents::next(std::string_view piece) {
  if (pending_.empty()) {
    // No carried-over bytes: a prefix of the piece, without copying.
    const size_t end = last_event_end(piece);
    pending_.assign(piece.substr(end));
    return piece.substr(0, end);
  }
  // The carried-over bytes hold no event end: only the new ones (and the end of a blank line that
  // began before them) are scanned.
  const size_t scanned = pending_.size();
  pending_.append(piece);
  const size_t end = last_event_end(pending_, scanned);
  if (end == 0) {
    return {};
  }
  out_.assign(pending_, 0, end);
  pending_.erase(0, end);
  return out_;
}

size_t last_event_end(std::string_view bytes, size_t from) {
  // An event ends with a blank line: a line end (LF, CR or CRLF) right after another. Every such
  // pair holds "\n\n", "\n\r" or "\r\r" ("\r\n\n" and "\r\n\r\n" included), so one ending
  // after `from` starts at most one byte before it. Scanned backwards: a read usually ends at an
  // event's end, found in the first step; with none, each byte is looked at once.
  const size_t start = from > 1 ? from - 1 : 0;
  size_t end = 0;
  for (size_t i = bytes.size(); i >= start + 2; --i) {
    const char first = bytes[i - 2];
    const char second = bytes[i - 1];
    if ((first == '\n' && (second == '\n' || second == '\r')) ||
        (first == '\r' && second == '\r')) {
      end = i;
      break;
    }
  }
  // A blank line ended by CRLF ends after its LF.
  if (end != 0 && end < bytes.size() && bytes[end - 1] == '\r' && bytes[end] == '\n') {
    ++end;
  }
  return end;
}

bool takes_max_completion_tokens(std::string_view model) {
  return model.starts_with("o1") || model.starts_with("o3") || model.starts_with("o4") ||
         model.starts_with("gpt-5");
}

std::unique_ptr<ResponseTranslator> make_pass_through(bool strip_usage) {
  return std::make_unique<PassThrough>(strip_usage);
}

OpenAICompatibleProvider::OpenAICompatibleProvider(OpenAICompatibleOptions options)
    : options_(std::move(options)) {
  if (!options_.api_key.empty()) {
    authorization_ = "Bearer " + options_.api_key;
  }
}

net::OutboundRequest OpenAICompatibleProvider::post(std::string_view operation, bool stream,
                                                    std::string_view request_id) const {
  net::OutboundRequest request;
  request.method = "POST";
  request.path = options_.endpoint.base_path;
  request.path += operation;
  request.headers.reserve(5);
  request.headers.push_back({"content-type", "application/json"});
  request.headers.push_back({"accept", stream ? "text/event-stream" : "application/json"});
  request.headers.push_back({"user-agent", kUserAgent});
  request.headers.push_back({"x-request-id", request_id});
  if (!authorization_.empty()) {
    request.headers.push_back({"authorization", authorization_});
  }
  return request;
}

tl::expected<PreparedRequest, core::Error> OpenAICompatibleProvider::prepare_chat(
    const ChatCall& call) const {
  PreparedRequest prepared;
  auto& request = prepared.request;
  request = post("/chat/completions", call.info.stream, call.request_id);
  // The model name spliced in and usage requested for streams; the rest goes out untouched.
  // OpenAI's own reasoning models only: another server's "o1-like" model may take max_tokens.
  const bool reasoning =
      options_.name == "openai" && takes_max_completion_tokens(call.upstream_model);
  api::upstream_chat_body(call.body, call.info, call.upstream_model, call.request_usage,
                          prepared.storage.emplace_back(), request.body, reasoning);
  return prepared;
}

tl::expected<PreparedRequest, core::Error> OpenAICompatibleProvider::prepare_completions(
    const ChatCall& call) const {
  PreparedRequest prepared;
  prepared.request = post("/completions", call.info.stream, call.request_id);
  api::upstream_chat_body(call.body, call.info, call.upstream_model, call.request_usage,
                          prepared.storage.emplace_back(), prepared.request.body);
  return prepared;
}

tl::expected<PreparedRequest, core::Error> OpenAICompatibleProvider::prepare_responses(
    const ChatCall& call) const {
  PreparedRequest prepared;
  prepared.request = post("/responses", call.info.stream, call.request_id);
  api::upstream_chat_body(call.body, call.info, call.upstream_model, false,
                          prepared.storage.emplace_back(), prepared.request.body);
  return prepared;
}

tl::expected<PreparedRequest, core::Error> OpenAICompatibleProvider::prepare_count_tokens(
    const ChatCall& call) const {
  if (!options_.responses_api) {
    return Provider::prepare_count_tokens(call);
  }
  auto body = api::messages_to_input_tokens(call.body, call.upstream_model);
  if (!body) {
    return tl::unexpected(body.error());
  }
  PreparedRequest prepared;
  prepared.request = post("/responses/input_tokens", false, call.request_id);
  prepared.request.body.push_back(prepared.storage.emplace_back(std::move(*body)));
  return prepared;
}

std::unique_ptr<ResponseTranslator> OpenAICompatibleProvider::count_tokens_translator() const {
  return options_.responses_api ? make_count_from_input_tokens() : make_messages_pass_through();
}

tl::expected<PreparedRequest, core::Error> OpenAICompatibleProvider::prepare_embeddings(
    const EmbeddingsCall& call) const {
  PreparedRequest prepared;
  prepared.request = post("/embeddings", false, call.request_id);
  api::upstream_embeddings_body(call.body, call.info, call.upstream_model,
                                prepared.storage.emplace_back(), prepared.request.body);
  return prepared;
}

std::unique_ptr<ResponseTranslator> OpenAICompatibleProvider::translator(const ChatCall& call,
                                                                         const AnswerHints&) const {
  return make_pass_through(api::strips_usage_chunk(call.info, call.request_usage));
}

core::Error OpenAICompatibleProvider::map_error(int status, std::string_view body,
                                                std::string_view retry_after) const {
  return map_upstream_error(options_.name, status, body, retry_after);
}

net::OutboundRequest OpenAICompatibleProvider::models_request() const {
  net::OutboundRequest request;
  request.method = "GET";
  request.path = options_.endpoint.base_path + "/models";
  request.headers.push_back({"accept", "application/json"});
  request.headers.push_back({"user-agent", kUserAgent});
  if (!authorization_.empty()) {
    request.headers.push_back({"authorization", authorization_});
  }
  return request;
}

tl::expected<std::vector<ModelEntry>, std::string> OpenAICompatibleProvider::parse_models(
    std::string_view body) const {
  return models_from_data_list(body, [](const boost::json::object& entry) -> int64_t {
    const auto* created = entry.if_contains("created");
    return created != nullptr && created->is_int64() ? created->get_int64() : 0;
  });
}

std::vector<std::string> OpenAICompatibleProvider::aliases(std::string_view model_id) const {
  constexpr std::string_view kLatest = ":latest";
  if (options_.latest_alias && model_id.ends_with(kLatest)) {
    return {std::string(model_id.substr(0, model_id.size() - kLatest.size()))};
  }
  return {};
}

}  // namespace gw::providers
