// The embeddings request inspector (api::inspect_embeddings_request) and splicer
// (api::upstream_embeddings_body), on a client's body; and Ollama's embeddings answer translated
// to OpenAI's format (OllamaProvider::embeddings_translator), on an upstream's body. The input's
// hash picks which, the upstream model name, the encoding and the body's spare capacity.
// Checks:
// - no crash or sanitizer report ("exception" if anything throws);
// - what the inspector accepts is JSON by Boost.JSON's reading too ("embeddings_accepts_invalid",
//   except numbers Boost.JSON cannot hold); its model and input ranges hold the model's string
//   and the `input` member's value, whose shape and count are what it reports
//   ("embeddings_ranges"); the spliced body equals the original with only the model changed
//   ("embeddings_splice");
// - Ollama's request is JSON with the client's input ("ollama_embed_request");
// - a translated answer is a JSON object with one `data` entry per expected vector, indexed in
//   order, each a number array or a base64 string of 4-byte floats ("ollama_embed_answer").

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cstddef>
#include <cstdint>
#include <exception>

#include "fuzz_support.hpp"
#include "gw/api/embeddings_request.hpp"
#include "gw/providers/ollama.hpp"

namespace {

using namespace gw::fuzz;
namespace json = boost::json;
using gw::api::EmbeddingInput;

std::string joined(const std::vector<std::string_view>& parts) {
  std::string out;
  for (auto part : parts) {
    out += part;
  }
  return out;
}

// The shape and count the inspector should report for a parsed `input`.
bool shape_matches(const json::value& input, const gw::api::EmbeddingsRequestInfo& info) {
  if (input.is_string()) {
    return info.input == EmbeddingInput::kText && info.input_count == 1;
  }
  const auto& items = input.as_array();
  if (items.front().is_string()) {
    return info.input == EmbeddingInput::kTexts && info.input_count == items.size();
  }
  if (items.front().is_array()) {
    return info.input == EmbeddingInput::kTokenArrays && info.input_count == items.size();
  }
  return info.input == EmbeddingInput::kTokens && info.input_count == 1;
}

void check_request(const std::string& body, Random& random) {
  const auto info = gw::api::inspect_embeddings_request(body);
  if (!info) {
    return;
  }
  boost::system::error_code ec;
  json::value original = json::parse(body, ec);
  if (ec == json::error::exponent_overflow) {
    return;  // valid by RFC 8259's grammar; beyond what Boost.JSON holds (chat_request_fuzz.cpp)
  }
  GW_FUZZ_CHECK(
      !ec, "embeddings_accepts_invalid",
      "the inspector accepted what Boost.JSON rejects (" + ec.message() + "): " + printable(body));
  if (ec) {
    return;
  }
  GW_FUZZ_CHECK(info->model_end <= body.size() && info->input_end <= body.size() &&
                    info->input_begin < info->input_end,
                "embeddings_ranges", "ranges outside the body: " + printable(body));
  const auto& object = original.as_object();
  const json::value input_alone = json::parse(
      std::string_view(body).substr(info->input_begin, info->input_end - info->input_begin), ec);
  GW_FUZZ_CHECK(!ec && object.contains("input") && input_alone == object.at("input") &&
                    shape_matches(input_alone, *info),
                "embeddings_ranges", "the input range or shape is wrong: " + printable(body));

  const std::string upstream_model = random.coin() ? info->model : "nomic \"embed\"";
  std::string storage;
  std::vector<std::string_view> parts;
  gw::api::upstream_embeddings_body(body, *info, upstream_model, storage, parts);
  json::value sent = json::parse(joined(parts), ec);
  GW_FUZZ_CHECK(!ec && sent.is_object() && sent.as_object()["model"] == json::value(upstream_model),
                "embeddings_splice", "spliced body: " + printable(joined(parts)));
  if (!ec && sent.is_object()) {
    sent.as_object().erase("model");
    original.as_object().erase("model");
    GW_FUZZ_CHECK(sent == original, "embeddings_splice", "differs beyond the model");
  }

  static const gw::providers::OllamaProvider ollama({});
  std::string client_body = body;
  const gw::providers::EmbeddingsCall call{client_body, *info, upstream_model, "fuzz"};
  if (auto prepared = ollama.prepare_embeddings(call)) {
    json::value request = json::parse(joined(prepared->request.body), ec);
    GW_FUZZ_CHECK(!ec && request.is_object() && request.as_object()["input"] == input_alone,
                  "ollama_embed_request",
                  "Ollama request: " + printable(joined(prepared->request.body)));
  }
}

void check_answer(const std::string& body, Random& random) {
  std::string client_body = R"({"model":"m","input":"x"})";
  gw::api::EmbeddingsRequestInfo info;
  info.input_count = random.between(0, 3);
  const bool base64 = random.coin();
  info.encoding = base64 ? gw::api::EmbeddingEncoding::kBase64 : gw::api::EmbeddingEncoding::kFloat;
  static const gw::providers::OllamaProvider ollama({});
  const gw::providers::EmbeddingsCall call{client_body, info, "m", "fuzz"};
  auto translated = ollama.embeddings_translator(call)->complete(body);
  if (!translated) {
    return;
  }
  boost::system::error_code ec;
  json::value answer = json::parse(*translated, ec);
  GW_FUZZ_CHECK(!ec && answer.is_object(), "ollama_embed_answer",
                "not JSON (" + ec.message() + "): " + printable(*translated));
  if (ec || !answer.is_object()) {
    return;
  }
  const auto* data = answer.as_object().if_contains("data");
  bool ok = data != nullptr && data->is_array() && data->as_array().size() == info.input_count;
  for (size_t i = 0; ok && i < data->as_array().size(); ++i) {
    const auto& entry = data->as_array()[i].as_object();
    const auto& vector = entry.at("embedding");
    ok = entry.at("index") == json::value(i) &&
         (base64 ? vector.is_string() && vector.as_string().size() % 4 == 0 : vector.is_array());
  }
  GW_FUZZ_CHECK(ok, "ollama_embed_answer", "answer: " + printable(*translated));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input = as_view(data, size);
  Random random(input);
  std::string body(input);
  if (random.coin()) {
    body.reserve(body.size() + 64);  // simdjson then reads the body in place, in its padding
  } else {
    body.shrink_to_fit();
  }
  try {
    if (random.coin()) {
      check_request(body, random);
    } else {
      check_answer(body, random);
    }
  } catch (const std::exception& e) {
    GW_FUZZ_CHECK(false, "exception", std::string("threw: ") + e.what());
  }
  return 0;
}
