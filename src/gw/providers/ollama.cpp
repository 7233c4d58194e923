#include "gw/providers/ollama.hpp"

#include <fmt/format.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>

#include "gw/api/chunk_writer.hpp"
#include "gw/api/completion_json.hpp"
#include "gw/core/logging.hpp"
#include "gw/core/request_id.hpp"
#include "gw/providers/common/json_read.hpp"

namespace gw::providers {
namespace {

namespace json = boost::json;
using core::Errc;
using core::Error;
using ollama_json::member;

std::string_view finish_reason(std::string_view done_reason, bool tool_calls) {
  if (tool_calls) {
    return "tool_calls";
  }
  return done_reason == "length" ? "length" : "stop";
}

// Ollama's tool calls carry arguments as an object and no id; OpenAI's carry a JSON string and an
// id the client echoes back in the tool message.
json::array openai_tool_calls(const json::value* calls, size_t& counter, bool with_index,
                              bool one_call = false) {
  json::array out;
  if (calls == nullptr || !calls->is_array()) {
    return out;
  }
  for (const auto& call : calls->as_array()) {
    if (one_call && counter > 0) {
      break;  // the client asked for one call at a time: the first one is it
    }
    const auto* function = call.is_object() ? member(call.as_object(), "function") : nullptr;
    if (function == nullptr || !function->is_object()) {
      continue;
    }
    const auto* name = member(function->as_object(), "name");
    const auto* arguments = member(function->as_object(), "arguments");
    json::object c{{"id", fmt::format("call_{}", core::new_request_id().substr(0, 24))},
                   {"type", "function"},
                   {"function",
                    {{"name", name != nullptr && name->is_string() ? name->as_string() : ""},
                     {"arguments", arguments != nullptr ? json::serialize(*arguments) : "{}"}}}};
    if (with_index) {
      c["index"] = counter;
    }
    ++counter;
    out.push_back(std::move(c));
  }
  return out;
}

// A forced call's answer: the content the `format` constraint shaped as {"name", "arguments"},
// as Ollama's tool_calls would have carried it; nullopt when it is not that shape (a reply cut by
// the token limit, say), which then stays text.
std::optional<json::value> forced_call_from_content(std::string_view content) {
  boost::system::error_code ec;
  auto value = json::parse(content, ec);
  const auto* object = !ec ? value.if_object() : nullptr;
  const auto* name = object != nullptr ? member(*object, "name") : nullptr;
  const auto* arguments = object != nullptr ? member(*object, "arguments") : nullptr;
  if (name == nullptr || !name->is_string() || arguments == nullptr || !arguments->is_object()) {
    return std::nullopt;
  }
  return json::array{
      json::object{{"function", json::object{{"name", *name}, {"arguments", *arguments}}}}};
}

class OllamaStream final : public ResponseTranslator {
 public:
  OllamaStream(bool include_usage, OllamaToolMode mode)
      : include_usage_(include_usage), mode_(mode) {}

  tl::expected<std::string, core::Error> complete(std::string body) override {
    return openai_completion_from_ollama(body, mode_);
  }

  tl::expected<std::string_view, core::Error> feed(std::string_view piece) override {
    start_output(out_, piece.size());
    auto fed = lines_.feed(piece, [this](std::string_view line) -> tl::expected<void, core::Error> {
      return done_ ? tl::expected<void, core::Error>() : on_line(line);
    });
    if (!fed) {
      return tl::unexpected(fed.error());
    }
    return std::string_view(out_);
  }

  bool finished() const override { return done_; }
  api::Usage usage() const override { return usage_; }
  // A forced call's content counts too: MAX_STREAM_EVENT_BYTES bounds it.
  size_t buffered() const override { return lines_.held() + forced_content_.size(); }
  const core::Error* stream_error() const override { return error_ ? &*error_ : nullptr; }

 private:
  tl::expected<void, core::Error> on_line(std::string_view line) {
    if (on_text_line(line)) {
      return {};
    }
    return on_any_line(line);
  }

  // Most lines of a stream carry a piece of text and nothing else: read by simdjson's parser (no
  // Boost.JSON tree built and freed per line), the chunk written as text. False (nothing done)
  // for any other line: on_any_line() takes it.
  bool on_text_line(std::string_view line) {
    json_read::dom::object o;
    json_read::dom::object message;
    bool done = false;
    if (mode_.forced_call || json_read::parse_object(line).get(o) != simdjson::SUCCESS ||
        !is_absent(o["error"]) || (o["done"].get(done) == simdjson::SUCCESS && done) ||
        o["message"].get(message) != simdjson::SUCCESS || !is_absent(message["tool_calls"])) {
      return false;
    }
    if (model_.empty()) {
      model_ = json_read::text_at(o, "model");
    }
    const std::string_view content = json_read::text_at(message, "content");
    delta_.assign("{");
    if (!role_sent_) {
      delta_ += R"("role":"assistant")";
      role_sent_ = true;
    }
    if (!content.empty()) {
      delta_ += delta_.size() > 1 ? R"(,"content":")" : R"("content":")";
      core::append_json_escaped(delta_, content);
      delta_ += '"';
    }
    delta_ += '}';
    if (delta_.size() > 2) {
      emit(delta_, {});
    }
    return true;
  }

  // Absent or null: Ollama's translations treat the two alike (ollama_json::member).
  static bool is_absent(simdjson::simdjson_result<json_read::dom::element> member) {
    return member.error() != simdjson::SUCCESS || member.is_null();
  }

  // Any line, read as a tree: the first's model, an error, tool calls, a forced call's content,
  // the last line.
  tl::expected<void, core::Error> on_any_line(std::string_view line) {
    boost::system::error_code ec;
    auto value = json::parse(line, ec);
    if (ec || !value.is_object()) {
      return tl::unexpected(
          Error(Errc::kUpstreamError, "ollama sent a stream line that is not JSON"));
    }
    const auto& o = value.as_object();
    if (const auto* error = member(o, "error")) {
      on_error(*error);
      return {};
    }
    if (model_.empty()) {
      if (const auto* m = member(o, "model"); m != nullptr && m->is_string()) {
        model_ = m->as_string();
      }
    }
    json::object delta;
    if (!role_sent_) {
      delta["role"] = "assistant";
      role_sent_ = true;
    }
    if (const auto* message = member(o, "message"); message != nullptr && message->is_object()) {
      const auto* content = member(message->as_object(), "content");
      if (content != nullptr && content->is_string() && !content->as_string().empty()) {
        if (mode_.forced_call) {
          forced_content_ += content->as_string();  // the call's JSON, whole at the end
        } else {
          delta["content"] = content->as_string();
        }
      }
      auto calls = openai_tool_calls(member(message->as_object(), "tool_calls"), tool_calls_, true,
                                     mode_.one_call);
      if (!calls.empty()) {
        delta["tool_calls"] = std::move(calls);
      }
    }
    if (!delta.empty()) {
      emit(json::serialize(delta), {});
    }
    const auto* done = member(o, "done");
    if (done != nullptr && done->is_bool() && done->as_bool()) {
      on_done(o);
    }
    return {};
  }

  // A line with an error: the stream ends with it.
  void on_error(const json::value& error) {
    error_.emplace(Errc::kUpstreamError,
                   "ollama: " + std::string(error.is_string() ? std::string_view(error.as_string())
                                                              : "error"));
    out_ += core::sse_error_event(*error_);
    done_ = true;
  }

  // The last line ("done": true): the finish reason, the usage, the end.
  void on_done(const json::object& o) {
    flush_forced_call();
    const auto* reason = member(o, "done_reason");
    emit("{}", finish_reason(reason != nullptr && reason->is_string()
                                 ? std::string_view(reason->as_string())
                                 : "stop",
                             tool_calls_ > 0));
    usage_ = ollama_json::usage_of(o);
    if (include_usage_) {
      chunks_.usage(out_, usage_);
    }
    out_ += api::kSseDone;
    done_ = true;
  }

  // A forced call's content, once complete: the tool call (unless Ollama made one itself), or
  // the text when it is not a call's shape.
  void flush_forced_call() {
    if (forced_content_.empty()) {
      return;
    }
    json::object delta;
    auto call = tool_calls_ == 0 ? forced_call_from_content(forced_content_) : std::nullopt;
    if (call) {
      delta["tool_calls"] = openai_tool_calls(&*call, tool_calls_, true, true);
    } else if (tool_calls_ == 0) {
      delta["content"] = forced_content_;
    }
    forced_content_.clear();
    if (!delta.empty()) {
      emit(json::serialize(delta), {});
    }
  }

  // A chunk with `delta` (a JSON object's text).
  void emit(std::string_view delta, std::string_view finish_reason) {
    if (!chunks_.has_identity()) {
      chunks_.set_identity(id_, created_, model_);
    }
    chunks_.delta(out_, delta, finish_reason);
  }

  bool include_usage_;
  OllamaToolMode mode_;
  std::string forced_content_;  // a forced call's JSON content, held until the answer is done
  api::Usage usage_;
  std::optional<Error> error_;
  NdjsonLines lines_;
  std::string out_;
  std::string delta_;  // on_text_line()'s, kept for its buffer
  std::string id_ = "chatcmpl-" + core::new_request_id().substr(0, 24);
  int64_t created_ = api::unix_now();
  std::string model_;
  api::ChunkWriter chunks_;
  size_t tool_calls_ = 0;
  bool role_sent_ = false;
  bool done_ = false;
};

}  // namespace

tl::expected<std::string, core::Error> openai_completion_from_ollama(std::string_view body,
                                                                     OllamaToolMode mode) {
  boost::system::error_code ec;
  auto value = json::parse(body, ec);
  if (ec || !value.is_object()) {
    return tl::unexpected(Error(Errc::kUpstreamError, "ollama sent a response that is not JSON"));
  }
  const auto& o = value.as_object();
  std::string content;
  size_t counter = 0;
  json::array calls;
  if (const auto* message = member(o, "message"); message != nullptr && message->is_object()) {
    if (const auto* c = member(message->as_object(), "content"); c != nullptr && c->is_string()) {
      content = c->as_string();
    }
    calls = openai_tool_calls(member(message->as_object(), "tool_calls"), counter, false,
                              mode.one_call);
  }
  if (mode.forced_call && calls.empty()) {
    if (auto call = forced_call_from_content(content)) {
      calls = openai_tool_calls(&*call, counter, false, true);
      content.clear();
    }
  }
  const auto* reason = member(o, "done_reason");
  const auto* model = member(o, "model");
  json::object reply{
      {"role", "assistant"},
      {"content", content.empty() && !calls.empty() ? json::value(nullptr) : json::value(content)},
      {"refusal", nullptr}};
  if (!calls.empty()) {
    reply["tool_calls"] = std::move(calls);
  }
  json::object out{
      {"id", "chatcmpl-" + core::new_request_id().substr(0, 24)},
      {"object", "chat.completion"},
      {"created", api::unix_now()},
      {"model", model != nullptr && model->is_string() ? model->as_string() : ""},
      {"choices", json::array{json::object{
                      {"index", 0},
                      {"message", std::move(reply)},
                      {"logprobs", nullptr},
                      {"finish_reason", finish_reason(reason != nullptr && reason->is_string()
                                                          ? std::string_view(reason->as_string())
                                                          : "stop",
                                                      counter > 0)}}}},
  };
  // The usage written from its numbers, after the tree.
  std::string text = json::serialize(out);
  text.back() = ',';
  text += R"("usage":)";
  api::append_usage_json(text, ollama_json::usage_of(o));
  text += '}';
  return text;
}

std::unique_ptr<ResponseTranslator> make_ollama_stream_translator(bool include_usage,
                                                                  OllamaToolMode mode) {
  return std::make_unique<OllamaStream>(include_usage, mode);
}

OllamaProvider::OllamaProvider(OllamaOptions options) : options_(std::move(options)) {}

tl::expected<PreparedRequest, core::Error> OllamaProvider::prepare_chat(
    const ChatCall& call) const {
  std::optional<json::object> parsed;
  if (call.parsed == nullptr) {
    auto result = api::parse_request_object(call.body);
    if (!result) {
      return tl::unexpected(result.error());
    }
    parsed.emplace(std::move(*result));
  }
  const json::object& openai = call.parsed != nullptr ? *call.parsed : *parsed;
  auto translated = ollama_request_from_openai(openai, call.upstream_model);
  if (!translated) {
    return tl::unexpected(translated.error());
  }
  auto prepared = post("/api/chat", *translated, call.request_id);
  const auto mode = ollama_tool_mode(openai);
  prepared.hints.forced_call = mode.forced_call;
  prepared.hints.one_call = mode.one_call;
  return prepared;
}

PreparedRequest OllamaProvider::post(std::string_view path, const json::object& body,
                                     std::string_view request_id) const {
  PreparedRequest prepared;
  prepared.storage.push_back(json::serialize(body));
  prepared.request.method = "POST";
  prepared.request.path = options_.endpoint.base_path;
  prepared.request.path += path;
  prepared.request.headers = {{"content-type", "application/json"},
                              {"user-agent", kUserAgent},
                              {"x-request-id", request_id}};
  prepared.request.body.push_back(prepared.storage.back());
  return prepared;
}

std::unique_ptr<ResponseTranslator> OllamaProvider::translator(const ChatCall& call,
                                                               const AnswerHints& hints) const {
  return make_ollama_stream_translator(api::sends_usage_chunk(call.info),
                                       {hints.forced_call, hints.one_call});
}

bool OllamaProvider::is_stream(std::string_view content_type) const {
  return content_type.starts_with("application/x-ndjson");
}

core::Error OllamaProvider::map_error(int status, std::string_view body,
                                      std::string_view retry_after) const {
  return map_upstream_error(options_.name, status, body, retry_after);
}

net::OutboundRequest OllamaProvider::models_request() const {
  net::OutboundRequest request;
  request.method = "GET";
  request.path = options_.endpoint.base_path + "/api/tags";
  request.headers = {{"accept", "application/json"}, {"user-agent", kUserAgent}};
  return request;
}

tl::expected<std::vector<ModelEntry>, std::string> OllamaProvider::parse_models(
    std::string_view body) const {
  boost::system::error_code ec;
  auto value = json::parse(body, ec);
  const auto* models = !ec && value.is_object() ? value.as_object().if_contains("models") : nullptr;
  if (models == nullptr || !models->is_array()) {
    return tl::unexpected(std::string("the tag list has no 'models' array"));
  }
  std::vector<ModelEntry> out;
  for (const auto& m : models->as_array()) {
    const auto* name = m.is_object() ? member(m.as_object(), "name") : nullptr;
    if (name != nullptr && name->is_string()) {
      out.push_back({std::string(name->as_string()), 0});
    }
  }
  return out;
}

std::vector<std::string> OllamaProvider::aliases(std::string_view model_id) const {
  constexpr std::string_view kLatest = ":latest";
  if (model_id.ends_with(kLatest)) {
    return {std::string(model_id.substr(0, model_id.size() - kLatest.size()))};
  }
  return {};
}

}  // namespace gw::providers
