// POST /v1/completions (OpenAI's legacy text completions) on Ollama's native POST /api/generate:
// the prompt continued as raw text, the NDJSON answer as text_completion chunks.

#include <fmt/format.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "gw/api/completion_json.hpp"
#include "gw/core/logging.hpp"
#include "gw/core/request_id.hpp"
#include "gw/providers/common/unsupported_field.hpp"
#include "gw/providers/ollama.hpp"

namespace gw::providers {
namespace {

namespace json = boost::json;
using core::Errc;
using core::Error;

// Who refuses what it cannot translate, in error messages.
constexpr std::string_view kProvider = "the ollama provider's completions";

// The prompt as the one text /api/generate takes: a string, or an array of exactly one string.
tl::expected<std::string, Error> prompt_text(const json::value& prompt) {
  if (prompt.is_string()) {
    return std::string(prompt.as_string());
  }
  if (prompt.is_array() && prompt.as_array().size() == 1 && prompt.as_array()[0].is_string()) {
    return std::string(prompt.as_array()[0].as_string());
  }
  return tl::unexpected(core::invalid_request(
      "the ollama provider completes one text prompt (a string, or an array of one string): "
      "several prompts or token ids cannot be sent to /api/generate",
      "prompt"));
}

// A setting that only has its no-op value here.
bool is_default(std::string_view key, const json::value& value) {
  if (value.is_null()) {
    return true;
  }
  if (key == "n" || key == "best_of") {
    return value.is_int64() && value.as_int64() == 1;
  }
  if (key == "echo") {
    return value.is_bool() && !value.as_bool();
  }
  if (key == "logprobs") {
    return value.is_int64() && value.as_int64() == 0;
  }
  if (key == "logit_bias") {
    return value.is_object() && value.as_object().empty();
  }
  return false;
}

std::string_view finish_reason_of(const json::object& line) {
  const auto* reason = line.if_contains("done_reason");
  return reason != nullptr && reason->is_string() && reason->as_string() == "length" ? "length"
                                                                                     : "stop";
}

// One text_completion object: the whole answer, or a stream chunk (choices empty for the usage
// chunk).
std::string completion_object(const api::CompletionMeta& meta, const std::string* text,
                              std::string_view finish_reason, const api::Usage* usage) {
  std::string out = R"({"id":)";
  out += api::json_quote(meta.id);
  fmt::format_to(std::back_inserter(out), R"(,"object":"text_completion","created":{},"model":)",
                 meta.created);
  out += api::json_quote(meta.model);
  out += R"(,"choices":[)";
  if (text != nullptr) {
    out += R"({"text":)";
    out += api::json_quote(*text);
    out += R"(,"index":0,"logprobs":null,"finish_reason":)";
    out += finish_reason.empty() ? std::string("null") : api::json_quote(finish_reason);
    out += '}';
  }
  out += ']';
  if (usage != nullptr) {
    out += R"(,"usage":)";
    api::append_usage_json(out, *usage);
  }
  out += '}';
  return out;
}

tl::expected<json::object, Error> parse_line(std::string_view text, std::string_view what) {
  boost::system::error_code ec;
  auto value = json::parse(text, ec);
  if (ec || !value.is_object()) {
    return tl::unexpected(
        Error(Errc::kUpstreamError, fmt::format("ollama sent {} that is not JSON", what)));
  }
  return std::move(value.as_object());
}

std::string model_of(const json::object& line) {
  const auto* model = line.if_contains("model");
  return model != nullptr && model->is_string() ? std::string(model->as_string()) : "";
}

class OllamaGenerateStream final : public ResponseTranslator {
 public:
  explicit OllamaGenerateStream(bool include_usage) : include_usage_(include_usage) {}

  tl::expected<std::string, Error> complete(std::string body) override {
    auto line = parse_line(body, "a response");
    if (!line) {
      return tl::unexpected(line.error());
    }
    const auto* text = line->if_contains("response");
    const std::string answer =
        text != nullptr && text->is_string() ? std::string(text->as_string()) : std::string();
    usage_ = ollama_json::usage_of(*line);
    const auto meta = meta_for(*line);
    return completion_object(meta, &answer, finish_reason_of(*line), &usage_);
  }
  std::optional<api::Usage> completion_usage() const override { return usage_; }

  tl::expected<std::string_view, Error> feed(std::string_view piece) override {
    start_output(out_, piece.size());
    auto fed = lines_.feed(piece, [this](std::string_view line) -> tl::expected<void, Error> {
      return done_ ? tl::expected<void, Error>() : on_line(line);
    });
    if (!fed) {
      return tl::unexpected(fed.error());
    }
    return std::string_view(out_);
  }

  bool finished() const override { return done_; }
  api::Usage usage() const override { return usage_; }
  size_t buffered() const override { return lines_.held(); }
  const Error* stream_error() const override { return error_ ? &*error_ : nullptr; }

 private:
  api::CompletionMeta meta_for(const json::object& line) {
    if (meta_.id.empty()) {
      meta_ = api::CompletionMeta{"cmpl-" + core::new_request_id().substr(0, 24), api::unix_now(),
                                  model_of(line)};
    }
    return meta_;
  }

  tl::expected<void, Error> on_line(std::string_view text) {
    auto line = parse_line(text, "a stream line");
    if (!line) {
      return tl::unexpected(line.error());
    }
    if (const auto* error = line->if_contains("error")) {
      error_.emplace(
          Errc::kUpstreamError,
          "ollama: " +
              std::string(error->is_string() ? std::string_view(error->as_string()) : "error"));
      out_ += core::sse_error_event(*error_);
      done_ = true;
      return {};
    }
    meta_for(*line);
    const auto* response = line->if_contains("response");
    if (response != nullptr && response->is_string() && !response->as_string().empty()) {
      const std::string fragment(response->as_string());
      out_ += api::sse_data(completion_object(meta_, &fragment, {}, nullptr));
    }
    const auto* done = line->if_contains("done");
    if (done != nullptr && done->is_bool() && done->as_bool()) {
      const std::string none;
      out_ += api::sse_data(completion_object(meta_, &none, finish_reason_of(*line), nullptr));
      usage_ = ollama_json::usage_of(*line);
      if (include_usage_) {
        out_ += api::sse_data(completion_object(meta_, nullptr, {}, &usage_));
      }
      out_ += api::kSseDone;
      done_ = true;
    }
    return {};
  }

  bool include_usage_;
  api::CompletionMeta meta_;
  api::Usage usage_;
  std::optional<Error> error_;
  NdjsonLines lines_;
  std::string out_;
  bool done_ = false;
};

}  // namespace

tl::expected<json::object, core::Error> ollama_generate_from_openai(
    const json::object& openai, std::string_view upstream_model) {
  // Raw: a legacy completion continues the prompt as text, with no chat template around it.
  json::object out{{"model", upstream_model}, {"raw", true}, {"stream", false}};
  json::object options;
  for (const auto& [key, value] : openai) {
    if (key == "model" || key == "stream_options" || is_default(key, value) ||
        (key == "suffix" && value == "")) {
      continue;  // an empty suffix is none: the prompt stays raw
    }
    if (key == "prompt") {
      auto text = prompt_text(value);
      if (!text) {
        return tl::unexpected(text.error());
      }
      out["prompt"] = *text;
    } else if (key == "suffix") {
      if (!value.is_string()) {
        return tl::unexpected(core::invalid_request("'suffix' must be a string", "suffix"));
      }
      // Fill-in-the-middle needs the model's template: not raw then.
      out["suffix"] = value;
      out["raw"] = false;
    } else if (key == "stream") {
      out["stream"] = value.is_bool() && value.as_bool();
    } else if (key == "temperature" || key == "top_p" || key == "seed" ||
               key == "frequency_penalty" || key == "presence_penalty") {
      if (!value.is_number()) {
        return tl::unexpected(core::invalid_request(
            fmt::format("'{}' must be a number", std::string_view(key)), std::string(key)));
      }
      options[key] = value;
    } else if (key == "max_tokens") {
      if (!value.is_int64()) {
        return tl::unexpected(
            core::invalid_request("'max_tokens' must be an integer", "max_tokens"));
      }
      options["num_predict"] = value;
    } else if (key == "stop") {
      options["stop"] = value.is_string() ? json::value(json::array{value}) : value;
    } else {
      // n, best_of, echo, logprobs, logit_bias beyond their no-op values; user; anything unknown.
      return tl::unexpected(unsupported_field(key, kProvider));
    }
  }
  if (!options.empty()) {
    out["options"] = std::move(options);
  }
  return out;
}

tl::expected<PreparedRequest, core::Error> OllamaProvider::prepare_completions(
    const ChatCall& call) const {
  auto openai = api::parse_request_object(call.body);
  if (!openai) {
    return tl::unexpected(openai.error());
  }
  auto translated = ollama_generate_from_openai(*openai, call.upstream_model);
  if (!translated) {
    return tl::unexpected(translated.error());
  }
  return post("/api/generate", *translated, call.request_id);
}

std::unique_ptr<ResponseTranslator> OllamaProvider::completions_translator(
    const ChatCall& call, const AnswerHints&) const {
  return std::make_unique<OllamaGenerateStream>(api::sends_usage_chunk(call.info));
}

}  // namespace gw::providers
