#include "gw/mock/embeddings.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cstring>

#include "gw/api/chat_request.hpp"

namespace gw::mock {
namespace {

namespace json = boost::json;
using net::Response;

// One input as the mock embeds it: the sum of its bytes or token ids, and its "tokens".
struct Input {
  int64_t sum = 0;
  int64_t tokens = 0;
};

std::vector<double> vector_of(const Input& input, int64_t dimensions) {
  std::vector<double> out;
  out.reserve(static_cast<size_t>(dimensions));
  for (int64_t j = 0; j < dimensions; ++j) {
    out.push_back(static_cast<double>((input.sum + 31 * j) % 1000) / 1000.0 - 0.5);
  }
  return out;
}

Input text_input(std::string_view text) {
  Input input;
  for (unsigned char c : text) {
    input.sum += c;
  }
  input.tokens = static_cast<int64_t>(count_words(text));
  return input;
}

// The inputs of `input`: a string, strings, token ids (OpenAI only), or arrays of them.
std::optional<std::vector<Input>> read_inputs(const json::value& value, bool tokens_allowed) {
  std::vector<Input> out;
  if (value.is_string()) {
    out.push_back(text_input(value.get_string()));
    return out;
  }
  if (!value.is_array() || value.get_array().empty()) {
    return std::nullopt;
  }
  const auto& items = value.get_array();
  if (tokens_allowed && items.front().is_int64()) {
    Input one;
    for (const auto& token : items) {
      if (!token.is_int64()) {
        return std::nullopt;
      }
      one.sum += token.get_int64();
      ++one.tokens;
    }
    out.push_back(one);
    return out;
  }
  for (const auto& item : items) {
    if (item.is_string()) {
      out.push_back(text_input(item.get_string()));
    } else if (tokens_allowed && item.is_array()) {
      auto nested = read_inputs(item, true);
      if (!nested || nested->size() != 1 || item.get_array().front().is_array()) {
        return std::nullopt;
      }
      out.push_back(nested->front());
    } else {
      return std::nullopt;
    }
  }
  return out;
}

std::string floats_json(const std::vector<double>& values) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i) {
    fmt::format_to(std::back_inserter(out), "{}{}", i == 0 ? "" : ",", values[i]);
  }
  out += ']';
  return out;
}

// OpenAI's base64 encoding: little-endian float32, base64 (as a JSON string token).
std::string base64_json(const std::vector<double>& values) {
  std::string bytes;
  for (double value : values) {
    const auto single = static_cast<float>(value);
    char raw[sizeof single];
    std::memcpy(raw, &single, sizeof single);
    bytes.append(raw, sizeof raw);
  }
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                      reinterpret_cast<const unsigned char*>(bytes.data()),
                                      static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(written));
  return '"' + out + '"';
}

Response bad_request(std::string message, std::string param) {
  return net::error_response(
      core::Error(core::Errc::kInvalidRequest, std::move(message), std::move(param)));
}

Response ollama_error(int status, std::string_view message) {
  return Response{
      status, "application/json", {}, fmt::format(R"({{"error":{}}})", api::json_quote(message))};
}

// The answer to a checked OpenAI embeddings request; a 400 naming what is wrong.
Response openai_answer(const json::object& request, const std::string& deployment) {
  for (const auto& member : request) {
    const std::string_view key = member.key();
    if (key != "model" && key != "input" && key != "encoding_format" && key != "dimensions" &&
        key != "user") {
      return bad_request(fmt::format("Unrecognized request argument supplied: {}", key),
                         std::string(key));
    }
  }
  const auto* model = request.if_contains("model");
  const auto* input = request.if_contains("input");
  if (model == nullptr || !model->is_string()) {
    return bad_request("you must provide a model parameter", "model");
  }
  auto inputs = input == nullptr ? std::nullopt : read_inputs(*input, true);
  if (!inputs) {
    return bad_request("'$.input' is invalid.", "input");
  }
  bool base64 = false;
  if (const auto* format = request.if_contains("encoding_format")) {
    if (!format->is_string() ||
        (format->get_string() != "float" && format->get_string() != "base64")) {
      return bad_request("'encoding_format' must be float or base64", "encoding_format");
    }
    base64 = format->get_string() == "base64";
  }
  int64_t dimensions = 8;
  if (const auto* given = request.if_contains("dimensions")) {
    if (!given->is_int64() || given->get_int64() < 1 || given->get_int64() > 4096) {
      return bad_request("'dimensions' must be an integer from 1 to 4096", "dimensions");
    }
    dimensions = given->get_int64();
  }
  std::string body = R"({"object":"list","data":[)";
  int64_t tokens = 0;
  for (size_t i = 0; i < inputs->size(); ++i) {
    const auto values = vector_of((*inputs)[i], dimensions);
    fmt::format_to(std::back_inserter(body),
                   R"({}{{"object":"embedding","index":{},"embedding":{}}})", i == 0 ? "" : ",", i,
                   base64 ? base64_json(values) : floats_json(values));
    tokens += (*inputs)[i].tokens;
  }
  fmt::format_to(std::back_inserter(body),
                 R"(],"model":{},"usage":{{"prompt_tokens":{},"total_tokens":{}}}}})",
                 api::json_quote(deployment.empty() ? std::string_view(model->get_string())
                                                    : std::string_view(deployment)),
                 tokens, tokens);
  return Response{200, "application/json", {}, std::move(body)};
}

Response ollama_answer(const json::object& request) {
  for (const auto& member : request) {
    const std::string_view key = member.key();
    if (key != "model" && key != "input" && key != "truncate" && key != "dimensions" &&
        key != "keep_alive" && key != "options") {
      return ollama_error(400, fmt::format("unknown field \"{}\"", key));
    }
  }
  const auto* model = request.if_contains("model");
  const auto* input = request.if_contains("input");
  if (model == nullptr || !model->is_string() || model->get_string().empty()) {
    return ollama_error(400, "model is required");
  }
  auto inputs = input == nullptr ? std::nullopt : read_inputs(*input, false);
  if (!inputs) {
    return ollama_error(400, "invalid input type");
  }
  int64_t dimensions = 8;
  if (const auto* given = request.if_contains("dimensions")) {
    if (!given->is_int64() || given->get_int64() < 1 || given->get_int64() > 4096) {
      return ollama_error(400, "invalid dimensions");
    }
    dimensions = given->get_int64();
  }
  std::string body =
      fmt::format(R"({{"model":{},"embeddings":[)", api::json_quote(model->get_string()));
  int64_t tokens = 0;
  for (size_t i = 0; i < inputs->size(); ++i) {
    body += i == 0 ? "" : ",";
    body += floats_json(vector_of((*inputs)[i], dimensions));
    tokens += (*inputs)[i].tokens;
  }
  fmt::format_to(std::back_inserter(body),
                 R"(],"total_duration":14143917,"load_duration":1019500,"prompt_eval_count":{}}})",
                 tokens);
  return Response{200, "application/json", {}, std::move(body)};
}

// The injected failure, if one is set (--fail-status, POST /mock/fail-status).
std::optional<Response> injected_failure(const MockOptions& options, const MockStats& stats,
                                         bool ollama) {
  const int status = stats.fail_status.load();
  if (status == 0) {
    return std::nullopt;
  }
  const std::string message = fmt::format("mock-backend failure injected: HTTP {}", status);
  if (ollama) {
    return ollama_error(status, message);
  }
  core::Error error(core::Errc::kUpstreamStatus, message);
  error.status = status;
  error.type = status >= 500 ? "server_error" : "invalid_request_error";
  error.code = "mock_failure";
  error.retry_after = options.retry_after;
  return net::error_response(error);
}

net::Task<void> serve(const MockOptions& options, MockStats& stats, net::Exchange& exchange,
                      bool ollama, const std::string& deployment) {
  RequestTracker tracker(stats, exchange.request);
  std::optional<Response> response = injected_failure(options, stats, ollama);
  if (!response) {
    boost::system::error_code ec;
    const json::value request = json::parse(exchange.request.body, ec);
    if (ec || !request.is_object()) {
      response = ollama ? ollama_error(400, "invalid JSON")
                        : bad_request("We could not parse the JSON body of your request.", "");
    } else {
      response = ollama ? ollama_answer(request.get_object())
                        : openai_answer(request.get_object(), deployment);
    }
  }
  co_await exchange.writer.send(std::move(*response));
  tracker.complete();
}

}  // namespace

net::Task<void> serve_openai_embeddings(const MockOptions& options, MockStats& stats,
                                        net::Exchange& exchange, std::string deployment) {
  co_await serve(options, stats, exchange, false, deployment);
}

net::Task<void> serve_ollama_embed(const MockOptions& options, MockStats& stats,
                                   net::Exchange& exchange) {
  co_await serve(options, stats, exchange, true, {});
}

}  // namespace gw::mock
