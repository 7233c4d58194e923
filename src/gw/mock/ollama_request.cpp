#include <fmt/format.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <limits>

#include "gw/api/chat_request.hpp"
#include "gw/mock/ollama.hpp"

namespace gw::mock {
namespace {

namespace json = boost::json;

constexpr std::string_view kModifiedAt = "2024-05-01T00:00:00Z";

// Ollama names a model without a tag as its ":latest" one.
std::string tagged(std::string_view id) {
  std::string name(id);
  if (name.find(':') == std::string::npos) {
    name += ":latest";
  }
  return name;
}

bool is_string(const json::value* value, std::string_view expected) {
  return value && value->is_string() && value->get_string() == expected;
}

// options.num_predict when it limits the answer; Ollama reads a negative one as "no limit".
std::optional<int64_t> read_num_predict(const json::value* options) {
  const auto* object = options ? options->if_object() : nullptr;
  const auto* value = object ? object->if_contains("num_predict") : nullptr;
  std::optional<int64_t> out;
  if (value == nullptr) {
    return out;
  }
  if (value->is_int64()) {
    out = value->get_int64();
  } else if (value->is_uint64()) {
    out = std::numeric_limits<int64_t>::max();
  } else if (value->is_double()) {
    out = static_cast<int64_t>(value->get_double());
  }
  if (out && *out < 0) {
    out.reset();
  }
  return out;
}

// The names of the tools to call: the first one, or the first two when two or more are offered.
std::vector<std::string> tool_calls(const json::value* tools_value) {
  std::vector<std::string> calls;
  const auto* tools = tools_value ? tools_value->if_array() : nullptr;
  if (tools == nullptr || tools->empty()) {
    return calls;
  }
  const size_t count = tools->size() >= 2 ? 2 : 1;
  for (size_t i = 0; i < count; ++i) {
    const auto* tool = (*tools)[i].if_object();
    const auto* function = tool ? tool->if_contains("function") : nullptr;
    const auto* fields = function ? function->if_object() : nullptr;
    const auto* name = fields ? fields->if_contains("name") : nullptr;
    calls.emplace_back(name && name->is_string() ? std::string(name->get_string()) : "");
  }
  return calls;
}

}  // namespace

net::Response ollama_error(int status, std::string_view message) {
  return net::Response{
      status, "application/json", {}, fmt::format(R"({{"error":{}}})", api::json_quote(message))};
}

net::Response ollama_tags(const std::vector<std::string>& models) {
  std::string list;
  for (const auto& id : models) {
    const std::string name = api::json_quote(tagged(id));
    list += fmt::format(
        R"({}{{"name":{},"model":{},"modified_at":"{}","size":1000,"digest":"0","details":{{"format":"gguf","family":"llama","parameter_size":"8B","quantization_level":"Q4_0"}}}})",
        list.empty() ? "" : ",", name, name, kModifiedAt);
  }
  return net::Response{200, "application/json", {}, fmt::format(R"({{"models":[{}]}})", list)};
}

bool ollama_model_known(const std::vector<std::string>& models, std::string_view model) {
  const std::string wanted = tagged(model);
  for (const auto& id : models) {
    if (tagged(id) == wanted) {
      return true;
    }
  }
  return false;
}

tl::expected<OllamaRequest, std::string> read_ollama_generate(std::string_view body) {
  boost::system::error_code ec;
  const json::value value = json::parse(body, ec, {}, deep_json());
  const auto* request = ec ? nullptr : value.if_object();
  if (request == nullptr) {
    return tl::unexpected(
        fmt::format("invalid JSON body: {}", ec ? ec.message() : "not an object"));
  }
  OllamaRequest out;
  const auto* model = request->if_contains("model");
  if (model == nullptr || !model->is_string() || model->get_string().empty()) {
    return tl::unexpected(std::string("model is required"));
  }
  out.model = model->get_string();
  if (const auto* stream = request->if_contains("stream"); stream && !stream->is_null()) {
    if (!stream->is_bool()) {
      return tl::unexpected(std::string("stream must be a boolean"));
    }
    out.stream = stream->get_bool();
  }
  const auto* prompt = request->if_contains("prompt");
  if (prompt != nullptr && !prompt->is_string()) {
    return tl::unexpected(std::string("prompt must be a string"));
  }
  out.text = prompt != nullptr ? std::string(prompt->get_string()) : "";
  out.prompt_words = static_cast<int64_t>(count_words(out.text));
  out.num_predict = read_num_predict(request->if_contains("options"));
  return out;
}

tl::expected<OllamaRequest, std::string> read_ollama_request(std::string_view body) {
  if (body.empty()) {
    return tl::unexpected(std::string("missing request body"));
  }
  boost::system::error_code ec;
  const json::value doc = json::parse(body, ec, {}, deep_json());
  if (ec) {
    return tl::unexpected(fmt::format("invalid JSON body: {}", ec.message()));
  }
  const auto* request = doc.if_object();
  if (request == nullptr) {
    return tl::unexpected(std::string("request body must be a JSON object"));
  }
  OllamaRequest out;
  const auto* model = request->if_contains("model");
  if (model == nullptr || !model->is_string() || model->get_string().empty()) {
    return tl::unexpected(
        std::string(model && !model->is_string() ? "model must be a string" : "model is required"));
  }
  out.model = model->get_string();
  if (const auto* stream = request->if_contains("stream"); stream && !stream->is_null()) {
    if (!stream->is_bool()) {
      return tl::unexpected(std::string("stream must be a boolean"));
    }
    out.stream = stream->get_bool();
  }
  const auto* messages_value = request->if_contains("messages");
  const auto* messages = messages_value ? messages_value->if_array() : nullptr;
  if (messages == nullptr) {
    return tl::unexpected(std::string("messages must be an array"));
  }
  std::string last_user;
  std::string last_text;
  std::string_view last_role;
  for (size_t i = 0; i < messages->size(); ++i) {
    const auto* message = (*messages)[i].if_object();
    if (message == nullptr) {
      return tl::unexpected(fmt::format("messages[{}] must be an object", i));
    }
    const auto* role = message->if_contains("role");
    if (role == nullptr || !role->is_string()) {
      return tl::unexpected(fmt::format("messages[{}].role must be a string", i));
    }
    last_role = role->get_string();
    last_text = content_text(message->if_contains("content"));
    out.prompt_words += static_cast<int64_t>(count_words(last_text));
    if (last_role == "user") {
      last_user = last_text;
    }
  }
  out.num_predict = read_num_predict(request->if_contains("options"));
  const auto* format = request->if_contains("format");
  out.json_format = is_string(format, "json") || (format && format->is_object());
  if (format != nullptr && format->is_object()) {
    // Ollama constrains the output to the schema (tools or not): an instance of it.
    out.text = json::serialize(instance_of(*format, last_user));
    return out;
  }
  if (last_role == "user") {
    out.calls = tool_calls(request->if_contains("tools"));
  }
  if (!out.calls.empty()) {
    out.arguments = tool_arguments(last_user);
  } else if (out.json_format) {
    // Lets tests see that a response format reached Ollama's `format`.
    out.text = R"({"echo":)" + api::json_quote(last_user) + "}";
  } else if (last_role == "tool") {
    out.text = "Tool said: " + last_text;
  } else {
    out.text = std::move(last_user);
  }
  return out;
}

}  // namespace gw::mock
