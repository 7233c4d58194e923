#include "gw/providers/ollama.hpp"

#include <fmt/format.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>

#include "gw/api/completion_json.hpp"
#include "gw/core/logging.hpp"
#include "gw/core/request_id.hpp"
#include "gw/providers/chunk_writer.hpp"

namespace gw::providers {
namespace {

namespace json = boost::json;
using core::Errc;
using core::Error;

Error invalid(std::string message, std::string param) {
  return Error(Errc::kInvalidRequest, std::move(message), std::move(param));
}

Error unsupported(std::string_view field) {
  return invalid(fmt::format("'{}' is not supported by the ollama provider", field),
                 std::string(field));
}

const json::value* member(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && !v->is_null() ? v : nullptr;
}

// OpenAI content -> Ollama's text content plus base64 images.
tl::expected<void, Error> translate_content(const json::value* content, json::object& message,
                                            const std::string& param) {
  if (content == nullptr) {
    message["content"] = "";
    return {};
  }
  if (content->is_string()) {
    message["content"] = content->as_string();
    return {};
  }
  if (!content->is_array()) {
    return tl::unexpected(invalid("content must be a string or an array of parts", param));
  }
  std::string text;
  json::array images;
  for (const auto& part : content->as_array()) {
    const auto* type = part.is_object() ? member(part.as_object(), "type") : nullptr;
    const std::string_view kind =
        type != nullptr && type->is_string() ? std::string_view(type->as_string()) : "";
    if (kind == "text") {
      const auto* t = member(part.as_object(), "text");
      text += t != nullptr && t->is_string() ? std::string_view(t->as_string()) : "";
    } else if (kind == "image_url") {
      const auto* image = member(part.as_object(), "image_url");
      const auto* url =
          image != nullptr && image->is_object() ? member(image->as_object(), "url") : image;
      const std::string_view u =
          url != nullptr && url->is_string() ? std::string_view(url->as_string()) : "";
      const auto comma = u.find(',');
      if (!u.starts_with("data:") || comma == std::string_view::npos ||
          !u.substr(0, comma).ends_with(";base64")) {
        return tl::unexpected(invalid("ollama takes images as base64 data URLs only", param));
      }
      images.push_back(json::string(u.substr(comma + 1)));
    } else {
      return tl::unexpected(invalid(
          fmt::format("content parts of type '{}' are not supported by the ollama provider", kind),
          param));
    }
  }
  message["content"] = text;
  if (!images.empty()) {
    message["images"] = std::move(images);
  }
  return {};
}

std::string_view finish_reason(std::string_view done_reason, bool tool_calls) {
  if (tool_calls) {
    return "tool_calls";
  }
  return done_reason == "length" ? "length" : "stop";
}

json::object usage_of(const json::object& line) {
  const auto* p = member(line, "prompt_eval_count");
  const auto* c = member(line, "eval_count");
  const int64_t prompt = p != nullptr && p->is_int64() ? api::sane_token_count(p->as_int64()) : 0;
  const int64_t completion =
      c != nullptr && c->is_int64() ? api::sane_token_count(c->as_int64()) : 0;
  return {{"prompt_tokens", prompt},
          {"completion_tokens", completion},
          {"total_tokens", prompt + completion}};
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
    out_.clear();
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
    boost::system::error_code ec;
    auto value = json::parse(line, ec);
    if (ec || !value.is_object()) {
      return tl::unexpected(
          Error(Errc::kUpstreamError, "ollama sent a stream line that is not JSON"));
    }
    const auto& o = value.as_object();
    if (const auto* error = member(o, "error")) {
      error_.emplace(
          Errc::kUpstreamError,
          "ollama: " +
              std::string(error->is_string() ? std::string_view(error->as_string()) : "error"));
      out_ += core::sse_error_event(*error_);
      done_ = true;
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
      emit(delta, {});
    }
    const auto* done = member(o, "done");
    if (done != nullptr && done->is_bool() && done->as_bool()) {
      flush_forced_call();
      const auto* reason = member(o, "done_reason");
      emit(json::object{}, finish_reason(reason != nullptr && reason->is_string()
                                             ? std::string_view(reason->as_string())
                                             : "stop",
                                         tool_calls_ > 0));
      auto usage = usage_of(o);
      usage_ = {usage["prompt_tokens"].as_int64(), usage["completion_tokens"].as_int64()};
      if (include_usage_) {
        chunks_.usage(out_, json::serialize(usage));
      }
      out_ += api::kSseDone;
      done_ = true;
    }
    return {};
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
      emit(delta, {});
    }
  }

  void emit(const json::object& delta, std::string_view finish_reason) {
    if (!chunks_.has_identity()) {
      chunks_.set_identity(id_, created_, model_);
    }
    chunks_.delta(out_, json::serialize(delta), finish_reason);
  }

  bool include_usage_;
  OllamaToolMode mode_;
  std::string forced_content_;  // a forced call's JSON content, held until the answer is done
  api::Usage usage_;
  std::optional<Error> error_;
  NdjsonLines lines_;
  std::string out_;
  std::string id_ = "chatcmpl-" + core::new_request_id().substr(0, 24);
  int64_t created_ = api::unix_now();
  std::string model_;
  ChunkWriter chunks_;
  size_t tool_calls_ = 0;
  bool role_sent_ = false;
  bool done_ = false;
};

// The function a tool_choice names ({"type":"function","function":{"name":...}}), or nullptr.
const json::value* chosen_function(const json::value& choice) {
  const auto* function = choice.is_object() ? member(choice.as_object(), "function") : nullptr;
  const auto* name = function != nullptr && function->is_object()
                         ? member(function->as_object(), "name")
                         : nullptr;
  return name != nullptr && name->is_string() ? name : nullptr;
}

// One tool call as `format` describes it: {"name": <the tool's name>, "arguments": <its
// parameters' schema>}.
json::object call_schema(const json::object& function) {
  const auto* parameters = member(function, "parameters");
  return json::object{
      {"type", "object"},
      {"properties",
       json::object{
           {"name", json::object{{"type", "string"}, {"enum", json::array{function.at("name")}}}},
           {"arguments", parameters != nullptr && parameters->is_object()
                             ? *parameters
                             : json::value(json::object{{"type", "object"}})}}},
      {"required", json::array{"name", "arguments"}}};
}

// tool_choice: `auto` as is; `none` sends no tools; `required` and a named function constrain the
// output (`format`) to a call of one of the tools, or of that one.
tl::expected<void, Error> translate_tool_choice(const json::object& openai, json::object& out) {
  const auto* choice = member(openai, "tool_choice");
  if (choice == nullptr || *choice == "auto") {
    return {};
  }
  if (*choice == "none") {
    out.erase("tools");
    return {};
  }
  const auto* named = chosen_function(*choice);
  if (*choice != "required" && named == nullptr) {
    return tl::unexpected(
        invalid("tool_choice must be auto, none, required or "
                "{\"type\":\"function\",\"function\":{\"name\":...}}",
                "tool_choice"));
  }
  const auto* tools = member(out, "tools");
  if (tools == nullptr || !tools->is_array() || tools->as_array().empty()) {
    return tl::unexpected(
        invalid("tool_choice asks for a tool call, but 'tools' is empty", "tool_choice"));
  }
  if (out.contains("format")) {
    return tl::unexpected(invalid(
        "a forced tool call and response_format cannot be combined on the ollama provider, which "
        "carries out both with its output format",
        "tool_choice"));
  }
  json::array calls;
  for (size_t i = 0; i < tools->as_array().size(); ++i) {
    const auto& tool = tools->as_array()[i];
    const auto* function = tool.is_object() ? member(tool.as_object(), "function") : nullptr;
    const auto* name = function != nullptr && function->is_object()
                           ? member(function->as_object(), "name")
                           : nullptr;
    if (name == nullptr || !name->is_string()) {
      return tl::unexpected(
          invalid("a function tool needs a name", fmt::format("tools[{}].function.name", i)));
    }
    if (named == nullptr || *name == *named) {
      calls.push_back(call_schema(function->as_object()));
    }
  }
  if (calls.empty()) {
    return tl::unexpected(invalid(fmt::format("tool_choice names '{}', which is not in 'tools'",
                                              core::bounded_text(named->as_string(), 64)),
                                  "tool_choice"));
  }
  out["format"] = calls.size() == 1 ? std::move(calls[0])
                                    : json::value(json::object{{"anyOf", std::move(calls)}});
  return {};
}

}  // namespace

OllamaToolMode ollama_tool_mode(const json::object& openai) {
  OllamaToolMode mode;
  if (const auto* choice = member(openai, "tool_choice")) {
    mode.forced_call = *choice == "required" || chosen_function(*choice) != nullptr;
  }
  const auto* parallel = member(openai, "parallel_tool_calls");
  mode.one_call = mode.forced_call || (parallel != nullptr && *parallel == false);
  return mode;
}

OllamaToolMode ollama_tool_mode(const std::string& body) {
  // The common case without a parse (a key spelled with escapes is found by the parse).
  if (body.find("tool_choice") == std::string::npos &&
      body.find("parallel_tool_calls") == std::string::npos &&
      body.find("\\u") == std::string::npos) {
    return {};
  }
  auto request = api::parse_request_object(body);
  return request ? ollama_tool_mode(*request) : OllamaToolMode{};
}

tl::expected<json::object, core::Error> ollama_request_from_openai(
    const json::object& openai, std::string_view upstream_model) {
  json::object out{{"model", upstream_model}};
  json::object options;
  for (const auto& [key, value] : openai) {
    if (value.is_null() || key == "model" || key == "messages" || key == "stream_options") {
      continue;
    }
    if (key == "stream") {
      out["stream"] = value.is_bool() && value.as_bool();
    } else if (key == "temperature" || key == "top_p" || key == "top_k" || key == "seed" ||
               key == "frequency_penalty" || key == "presence_penalty") {
      if (!value.is_number()) {
        return tl::unexpected(
            invalid(fmt::format("'{}' must be a number", std::string_view(key)), std::string(key)));
      }
      options[key] = value;
    } else if (key == "max_tokens" || key == "max_completion_tokens") {
      if (!value.is_int64()) {
        return tl::unexpected(invalid(fmt::format("'{}' must be an integer", std::string_view(key)),
                                      std::string(key)));
      }
      options["num_predict"] = value;
    } else if (key == "stop") {
      options["stop"] = value.is_string() ? json::value(json::array{value}) : value;
    } else if (key == "response_format") {
      const auto* type = value.is_object() ? member(value.as_object(), "type") : nullptr;
      const std::string_view t =
          type != nullptr && type->is_string() ? std::string_view(type->as_string()) : "";
      if (t == "json_object") {
        out["format"] = "json";
      } else if (t == "json_schema") {
        const auto* spec = member(value.as_object(), "json_schema");
        const auto* schema =
            spec != nullptr && spec->is_object() ? member(spec->as_object(), "schema") : nullptr;
        if (schema == nullptr) {
          return tl::unexpected(invalid("json_schema needs a schema", "response_format"));
        }
        out["format"] = *schema;
      } else if (t != "text") {
        return tl::unexpected(unsupported("response_format"));
      }
    } else if (key == "tools") {
      out["tools"] = value;  // Ollama takes OpenAI's function tool shape as is
    } else if (key == "tool_choice") {
      continue;  // below, once tools and format are known
    } else if (key == "n") {
      if (!(value.is_int64() && value.as_int64() == 1)) {
        return tl::unexpected(unsupported("n"));
      }
    } else if (key == "logprobs" || key == "store") {
      if (!(value.is_bool() && !value.as_bool())) {
        return tl::unexpected(unsupported(key));
      }
    } else if (key == "user") {
      // An end-user id for the provider's abuse monitoring: a local Ollama has none to tell.
      if (!value.is_string()) {
        return tl::unexpected(invalid("'user' must be a string", std::string(key)));
      }
    } else if (key == "parallel_tool_calls") {
      // Ollama cannot be told to call one at a time: the answer keeps the first call (false).
      if (!value.is_bool()) {
        return tl::unexpected(invalid("'parallel_tool_calls' must be a boolean", std::string(key)));
      }
    } else {
      return tl::unexpected(unsupported(key));
    }
  }
  if (auto choice = translate_tool_choice(openai, out); !choice) {
    return tl::unexpected(choice.error());
  }
  if (!out.contains("stream")) {
    out["stream"] = false;  // Ollama streams by default, OpenAI does not
  }
  if (!options.empty()) {
    out["options"] = std::move(options);
  }
  json::array messages;
  const auto& in = openai.at("messages").as_array();
  for (size_t i = 0; i < in.size(); ++i) {
    const std::string param = fmt::format("messages[{}]", i);
    const auto& m = in[i].as_object();
    std::string_view role = m.at("role").as_string();
    if (role == "developer") {
      role = "system";
    }
    if (role != "system" && role != "user" && role != "assistant" && role != "tool") {
      return tl::unexpected(invalid(
          fmt::format("role '{}' is not supported by the ollama provider", role), param + ".role"));
    }
    json::object message{{"role", role}};
    if (auto content = translate_content(member(m, "content"), message, param + ".content");
        !content) {
      return tl::unexpected(content.error());
    }
    if (const auto* calls = member(m, "tool_calls"); calls != nullptr && calls->is_array()) {
      json::array translated;
      for (size_t c = 0; c < calls->as_array().size(); ++c) {
        const auto& call = calls->as_array()[c];
        const auto* function = call.is_object() ? member(call.as_object(), "function") : nullptr;
        const auto* name = function != nullptr && function->is_object()
                               ? member(function->as_object(), "name")
                               : nullptr;
        const auto* arguments = function != nullptr && function->is_object()
                                    ? member(function->as_object(), "arguments")
                                    : nullptr;
        json::value args = json::object{};
        if (arguments != nullptr && arguments->is_string() && !arguments->as_string().empty()) {
          boost::system::error_code ec;
          args = json::parse(arguments->as_string(), ec);
          if (ec || !args.is_object()) {
            return tl::unexpected(
                invalid("tool call arguments must be a JSON object",
                        fmt::format("{}.tool_calls[{}].function.arguments", param, c)));
          }
        }
        if (name == nullptr || !name->is_string()) {
          return tl::unexpected(invalid("a tool call needs function.name",
                                        fmt::format("{}.tool_calls[{}]", param, c)));
        }
        translated.push_back(json::object{
            {"function", {{"name", name->as_string()}, {"arguments", std::move(args)}}}});
      }
      message["tool_calls"] = std::move(translated);
    }
    messages.push_back(std::move(message));
  }
  out["messages"] = std::move(messages);
  return out;
}

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
      {"usage", usage_of(o)}};
  return json::serialize(out);
}

std::unique_ptr<ResponseTranslator> make_ollama_stream_translator(bool include_usage,
                                                                  OllamaToolMode mode) {
  return std::make_unique<OllamaStream>(include_usage, mode);
}

OllamaProvider::OllamaProvider(OllamaOptions options) : options_(std::move(options)) {}

tl::expected<PreparedRequest, core::Error> OllamaProvider::prepare_chat(
    const ChatCall& call) const {
  auto openai = api::parse_request_object(call.body);
  if (!openai) {
    return tl::unexpected(openai.error());
  }
  auto translated = ollama_request_from_openai(*openai, call.upstream_model);
  if (!translated) {
    return tl::unexpected(translated.error());
  }
  return post("/api/chat", *translated, call.request_id);
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

std::unique_ptr<ResponseTranslator> OllamaProvider::translator(const ChatCall& call) const {
  return make_ollama_stream_translator(call.info.include_usage, ollama_tool_mode(call.body));
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
