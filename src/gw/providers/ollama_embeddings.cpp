// Embeddings through Ollama's native POST /api/embed: the request rebuilt from the client's
// `input` bytes, the answer's vectors copied token by token into OpenAI's list format, or encoded
// as base64 float32 when the client asked for that (the official SDKs do by default).

#include <fmt/format.h>
#include <openssl/evp.h>

#include <bit>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "gw/api/chat_request.hpp"
#include "gw/api/request_json.hpp"
#include "gw/core/logging.hpp"
#include "gw/providers/ollama.hpp"

namespace gw::providers {
namespace {

using core::Errc;
using core::Error;
namespace od = simdjson::ondemand;

Error bad_answer(std::string_view what) {
  return {Errc::kUpstreamError, fmt::format("ollama sent an embeddings answer {}", what)};
}

// Whether a number token can be relayed as written: short, with an exponent of at most three
// digits. `1e-3000000000` is valid JSON that simdjson reads as 0, but many parsers refuse it;
// such a token is written anew from its value.
bool is_plain_number(std::string_view token) {
  constexpr size_t kMaxPlainLength = 32;
  if (token.size() > kMaxPlainLength) {
    return false;
  }
  const size_t exponent = token.find_first_of("eE");
  if (exponent == std::string_view::npos) {
    return true;
  }
  size_t digits = 0;
  for (size_t i = exponent + 1; i < token.size(); ++i) {
    digits += token[i] >= '0' && token[i] <= '9' ? 1 : 0;
  }
  return digits <= 3;
}

// A vector element's value. Not simdjson's reading: version 3.0.1 misreads numbers with more
// than 19 significant digits (0.1000…0001 as 6.9e-22; found by the fuzzer). An element beyond a
// double's range is refused; one below it is 0, as JSON parsers read it.
std::optional<double> parse_number(std::string_view token) {
  if (!api::request_json::is_json_number(token)) {
    return std::nullopt;
  }
  double value = 0;
  const auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), value);
  if (ec == std::errc() && end == token.data() + token.size()) {
    return value;
  }
  // Out of range: strtod tells an underflow (0 or a subnormal) from an overflow (infinity).
  const std::string copy(token);
  value = std::strtod(copy.c_str(), nullptr);
  return std::isfinite(value) ? std::optional(value) : std::nullopt;
}

// Appends base64 of `bytes` (OpenSSL's encoder: no line breaks).
void append_base64(std::string& out, std::string_view bytes) {
  const size_t at = out.size();
  out.resize(at + 4 * ((bytes.size() + 2) / 3) + 1);
  const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data() + at),
                                      reinterpret_cast<const unsigned char*>(bytes.data()),
                                      static_cast<int>(bytes.size()));
  out.resize(at + static_cast<size_t>(written));
}

class OllamaEmbeddings final : public ResponseTranslator {
 public:
  OllamaEmbeddings(size_t expected, bool base64) : expected_(expected), base64_(base64) {}

  tl::expected<std::string, core::Error> complete(std::string body) override {
    body.reserve(body.size() + simdjson::SIMDJSON_PADDING);
    od::document doc;
    od::object root;
    if (api::request_json::thread_parser()
                .iterate(simdjson::padded_string_view(body.data(), body.size(), body.capacity()))
                .get(doc) != simdjson::SUCCESS ||
        doc.get_object().get(root) != simdjson::SUCCESS) {
      return tl::unexpected(bad_answer("that is not a JSON object"));
    }
    out_.reserve(body.size() + 256);
    out_ = R"({"object":"list","data":[)";
    std::string model = "\"\"";
    bool has_embeddings = false;
    for (auto field : root) {
      std::string_view key;
      od::value value;
      if (field.unescaped_key().get(key) != simdjson::SUCCESS ||
          field.value().get(value) != simdjson::SUCCESS) {
        return tl::unexpected(bad_answer("that is not valid JSON"));
      }
      if (key == "embeddings") {
        if (auto read = read_vectors(value); !read) {
          return tl::unexpected(read.error());
        }
        has_embeddings = true;
      } else if (key == "model") {
        std::string_view name;
        if (value.get_string().get(name) == simdjson::SUCCESS) {
          model = api::json_quote(name);
        }
      } else if (key == "prompt_eval_count") {
        int64_t count = 0;
        if (value.get_int64().get(count) == simdjson::SUCCESS) {
          usage_.prompt_tokens = api::sane_token_count(count);
        }
      }
    }
    if (!has_embeddings) {
      return tl::unexpected(bad_answer("without 'embeddings'"));
    }
    if (count_ != expected_) {
      return tl::unexpected(
          bad_answer(fmt::format("with {} vectors for {} inputs", count_, expected_)));
    }
    fmt::format_to(std::back_inserter(out_), R"(],"model":{})", model);
    if (usage_.prompt_tokens >= 0) {
      fmt::format_to(std::back_inserter(out_),
                     R"(,"usage":{{"prompt_tokens":{},"total_tokens":{}}})", usage_.prompt_tokens,
                     usage_.prompt_tokens);
    }
    out_ += '}';
    return std::move(out_);
  }

  tl::expected<std::string_view, core::Error> feed(std::string_view /*piece*/) override {
    return tl::unexpected(bad_answer("as a stream"));
  }
  bool finished() const override { return true; }
  // Unknown when Ollama did not report prompt_eval_count (the answer then has no usage).
  std::optional<api::Usage> completion_usage() const override {
    return usage_.prompt_tokens >= 0 ? std::optional(usage_) : std::nullopt;
  }
  size_t buffered() const override { return 0; }

 private:
  tl::expected<void, Error> read_vectors(od::value value) {
    od::array vectors;
    if (value.get_array().get(vectors) != simdjson::SUCCESS) {
      return tl::unexpected(bad_answer("whose 'embeddings' is not an array"));
    }
    for (auto element : vectors) {
      od::array numbers;
      if (element.get_array().get(numbers) != simdjson::SUCCESS) {
        return tl::unexpected(bad_answer("with a vector that is not an array"));
      }
      fmt::format_to(std::back_inserter(out_),
                     R"({}{{"object":"embedding","index":{},"embedding":)", count_ == 0 ? "" : ",",
                     count_);
      if (auto read = base64_ ? write_base64(numbers) : write_floats(numbers); !read) {
        return read;
      }
      out_ += '}';
      ++count_;
    }
    return {};
  }

  // A vector element: its token and its value.
  static tl::expected<std::pair<std::string_view, double>, Error> next_number(
      simdjson::simdjson_result<od::value> element) {
    od::value number;
    od::json_type type{};
    if (element.get(number) != simdjson::SUCCESS || number.type().get(type) != simdjson::SUCCESS ||
        type != od::json_type::number) {
      return tl::unexpected(bad_answer("with a vector element that is not a number"));
    }
    const std::string_view token = api::request_json::trim_trailing_space(number.raw_json_token());
    const auto value = parse_number(token);
    if (!value) {
      return tl::unexpected(bad_answer("with a vector element that is not a finite number"));
    }
    return std::pair{token, *value};
  }

  // The numbers as Ollama wrote them: each checked to be a number, copied, never reformatted.
  tl::expected<void, Error> write_floats(od::array numbers) {
    out_ += '[';
    bool first = true;
    for (auto element : numbers) {
      const auto parsed = next_number(element);
      if (!parsed) {
        return tl::unexpected(parsed.error());
      }
      const auto [token, value] = *parsed;
      if (!first) {
        out_ += ',';
      }
      first = false;
      if (is_plain_number(token)) {
        out_ += token;
      } else {
        fmt::format_to(std::back_inserter(out_), "{}", value);  // shortest round-trip form
      }
    }
    out_ += ']';
    return {};
  }

  // OpenAI's base64 format: the vector as little-endian float32, base64-encoded.
  tl::expected<void, Error> write_base64(od::array numbers) {
    static_assert(std::endian::native == std::endian::little,
                  "base64 embeddings are little-endian float32: byte-swap on this platform");
    bytes_.clear();
    for (auto element : numbers) {
      const auto parsed = next_number(element);
      if (!parsed) {
        return tl::unexpected(parsed.error());
      }
      const auto single = static_cast<float>(parsed->second);
      char raw[sizeof single];
      std::memcpy(raw, &single, sizeof single);
      bytes_.append(raw, sizeof raw);
    }
    out_ += '"';
    append_base64(out_, bytes_);
    out_ += '"';
    return {};
  }

  size_t expected_;
  bool base64_;
  size_t count_ = 0;
  std::string out_;
  std::string bytes_;
  api::Usage usage_;
};

}  // namespace

tl::expected<PreparedRequest, core::Error> OllamaProvider::prepare_embeddings(
    const EmbeddingsCall& call) const {
  const auto& info = call.info;
  if (info.input == api::EmbeddingInput::kTokens ||
      info.input == api::EmbeddingInput::kTokenArrays) {
    return tl::unexpected(
        Error(Errc::kInvalidRequest,
              "Ollama embeds text only: 'input' as token ids cannot be sent to it", "input"));
  }
  if (!info.other_member.empty()) {
    return tl::unexpected(Error(Errc::kInvalidRequest,
                                fmt::format("Ollama's embeddings API has no equivalent of '{}'",
                                            core::bounded_text(info.other_member)),
                                info.other_member));
  }
  PreparedRequest prepared;
  auto& head = prepared.storage.emplace_back();
  // truncate: false, so that an input longer than the model's context is an error, as it is at
  // OpenAI, rather than a vector of its beginning.
  head = R"({"model":)" + api::json_quote(call.upstream_model) + R"(,"truncate":false)";
  if (info.dimensions) {
    fmt::format_to(std::back_inserter(head), R"(,"dimensions":{})", *info.dimensions);
  }
  head += R"(,"input":)";
  prepared.request.method = "POST";
  prepared.request.path = endpoint().base_path + "/api/embed";
  prepared.request.headers = {{"content-type", "application/json"},
                              {"accept", "application/json"},
                              {"user-agent", kUserAgent},
                              {"x-request-id", call.request_id}};
  prepared.request.body = {
      head, std::string_view(call.body).substr(info.input_begin, info.input_end - info.input_begin),
      "}"};
  return prepared;
}

std::unique_ptr<ResponseTranslator> OllamaProvider::embeddings_translator(
    const EmbeddingsCall& call) const {
  return std::make_unique<OllamaEmbeddings>(call.info.input_count,
                                            call.info.encoding == api::EmbeddingEncoding::kBase64);
}

}  // namespace gw::providers
