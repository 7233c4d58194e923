// The chat-completions request inspector (api::inspect_chat_request, gw/api/chat_request.hpp) and
// the body splicer that sends a client's bytes upstream with another model name
// (api::upstream_chat_body, gw/api/usage.cpp), on a client's body.
//
// The upstream model name, whether usage is requested and the body's spare capacity (which
// decides whether simdjson reads it in place) are chosen from the input's hash. Checks:
// - no crash or sanitizer report ("exception" if anything throws);
// - what the inspector accepts is JSON by Boost.JSON's reading too ("chat_accepts_invalid"),
//   but for numbers whose exponent Boost.JSON cannot hold (valid by RFC 8259's grammar);
// - for such a body, the spliced body is valid JSON ("chat_splice_json") and equals the
//   original with only "model" changed, plus stream_options.include_usage when the splicer adds
//   the usage request, and max_tokens renamed max_completion_tokens when asked
//   ("chat_splice_tree"), compared as parsed trees;
// - the inspector reads the spliced body back with the new model and the same stream flags
//   ("chat_reinspect").
// - the Anthropic request written from an accepted body (providers::anthropic_request_from_openai),
//   when it translates, is one JSON object naming the upstream model, with messages
//   ("chat_anthropic_json").
// Also runs api::echo_input (the mock backend's reader) for crashes only, and the legacy
// completions inspector (api::inspect_completions_request, the same walk with `prompt`), whose
// accepted bodies must be JSON too ("completions_accepts_invalid").

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cstddef>
#include <cstdint>
#include <exception>

#include "fuzz_support.hpp"
#include "gw/api/chat_request.hpp"
#include "gw/providers/anthropic.hpp"

namespace {

using namespace gw::fuzz;
namespace json = boost::json;

constexpr std::string_view kModels[] = {"gpt-4o-mini", "a\"b\\c", "caf\xc3\xa9 \x01\n",
                                        "llama3:8b"};

// The Anthropic request written from an accepted body, when it translates: one JSON object that
// names the upstream model and holds the messages ("chat_anthropic_json").
void check_anthropic(const json::object& original, const std::string& upstream_model,
                     const std::string& body) {
  const auto translated =
      gw::providers::anthropic_request_from_openai(original, upstream_model, 4096);
  if (!translated) {
    return;  // refused by name: what Anthropic cannot express
  }
  json::parse_options deep;
  deep.max_depth = 100000;  // a tool's schema is copied a few levels below where it was
  boost::system::error_code ec;
  const auto value = json::parse(*translated, ec, {}, deep);
  const auto* object = !ec && value.is_object() ? &value.as_object() : nullptr;
  const auto* model = object != nullptr ? object->if_contains("model") : nullptr;
  const auto* messages = object != nullptr ? object->if_contains("messages") : nullptr;
  GW_FUZZ_CHECK(model != nullptr && *model == json::value(upstream_model) && messages != nullptr &&
                    messages->is_array() && !messages->as_array().empty(),
                "chat_anthropic_json",
                "the Anthropic request is not what it should be (" + ec.message() +
                    "): " + printable(*translated) + "\nfrom: " + printable(body));
}

void run(const std::string& body, Random& random) {
  const auto info = gw::api::inspect_chat_request(body);
  (void)gw::api::echo_input(body);
  if (gw::api::inspect_completions_request(body)) {
    boost::system::error_code legacy;
    (void)json::parse(body, legacy);
    GW_FUZZ_CHECK(
        !legacy || legacy == json::error::exponent_overflow, "completions_accepts_invalid",
        "the legacy completions inspector accepted what Boost.JSON rejects: " + printable(body));
  }
  if (!info) {
    return;
  }
  GW_FUZZ_CHECK(info->model_begin < info->model_end && info->model_end <= body.size() &&
                    body[info->model_begin] == '"' && body[info->model_end - 1] == '"',
                "chat_model_range", "model token range does not hold a string");
  boost::system::error_code ec;
  json::value original = json::parse(body, ec);
  if (ec == json::error::exponent_overflow) {
    // RFC 8259's grammar has no bound on a number; Boost.JSON refuses an exponent beyond an int
    // (a limit RFC 8259 §6 allows). The inspector checks the grammar and leaves ranges to the
    // upstream, as it does for every value it does not read.
    return;
  }
  GW_FUZZ_CHECK(
      !ec, "chat_accepts_invalid",
      "the inspector accepted what Boost.JSON rejects (" + ec.message() + "): " + printable(body));
  if (ec) {
    return;
  }
  // The same model name as the client's (no rename) for some inputs.
  const size_t pick = random.between(0, std::size(kModels));
  const std::string upstream_model =
      pick == std::size(kModels) ? info->model : std::string(kModels[pick]);
  const bool request_usage = random.coin();
  const bool max_completion_tokens = random.coin();
  check_anthropic(original.as_object(), upstream_model, body);
  std::string storage;
  std::vector<std::string_view> parts;
  gw::api::upstream_chat_body(body, *info, upstream_model, request_usage, storage, parts,
                              max_completion_tokens);
  std::string spliced;
  for (auto part : parts) {
    spliced += part;
  }
  json::value sent = json::parse(spliced, ec);
  GW_FUZZ_CHECK(!ec, "chat_splice_json",
                "spliced body is not JSON (" + ec.message() + "): " + printable(spliced) +
                    "\nfrom: " + printable(body));
  if (ec) {
    return;
  }
  const bool adds_usage = gw::api::adds_usage_request(*info, request_usage);
  auto& sent_object = sent.as_object();
  auto& original_object = original.as_object();
  const auto* sent_model = sent_object.if_contains("model");
  GW_FUZZ_CHECK(sent_model != nullptr && sent_model->is_string() &&
                    sent_model->get_string() == upstream_model,
                "chat_splice_tree",
                "the spliced body's model is not the upstream model: " + printable(spliced));
  sent_object.erase("model");
  original_object.erase("model");
  if (max_completion_tokens && info->max_tokens_keys == 1 && !info->has_max_completion_tokens) {
    // Renamed for a reasoning model: named back before comparing.
    const auto* renamed = sent_object.if_contains("max_completion_tokens");
    GW_FUZZ_CHECK(renamed != nullptr && !sent_object.contains("max_tokens"), "chat_splice_tree",
                  "max_tokens was to be renamed: " + printable(spliced));
    if (renamed != nullptr) {
      sent_object["max_tokens"] = *renamed;
      sent_object.erase("max_completion_tokens");
    }
  }
  if (adds_usage) {
    auto* options = sent_object.if_contains("stream_options");
    const bool asks = options != nullptr && options->is_object() &&
                      options->as_object().if_contains("include_usage") != nullptr &&
                      options->as_object().at("include_usage") == json::value(true);
    GW_FUZZ_CHECK(asks, "chat_splice_tree", "usage was to be requested: " + printable(spliced));
    // What else the client sent in stream_options stays.
    const auto* theirs = original_object.if_contains("stream_options");
    if (theirs != nullptr && theirs->is_object() && asks) {
      options->as_object().erase("include_usage");
      original_object["stream_options"].as_object().erase("include_usage");
    } else {
      sent_object.erase("stream_options");
      original_object.erase("stream_options");
    }
  }
  GW_FUZZ_CHECK(sent == original, "chat_splice_tree",
                "spliced body differs beyond the model:\nsent: " + json::serialize(sent) +
                    "\norig: " + json::serialize(original));

  const auto again = gw::api::inspect_chat_request(spliced);
  GW_FUZZ_CHECK(again.has_value() && again->model == upstream_model &&
                    again->stream == info->stream &&
                    again->include_usage == (info->include_usage || adds_usage),
                "chat_reinspect", "the spliced body reads back differently: " + printable(spliced));
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
    run(body, random);
  } catch (const std::exception& e) {
    GW_FUZZ_CHECK(false, "exception", std::string("threw: ") + e.what());
  }
  return 0;
}
