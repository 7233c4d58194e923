// Anthropic's Messages API inbound (gw/api/messages_request.hpp, gw/api/messages_to_chat.hpp,
// gw/providers/messages.hpp): a client's body through the inspectors (message, token count) and
// the translation to chat; an upstream's chat stream and completion through the translator to
// Messages events and objects; an upstream's own Messages stream and message through the
// pass-through relay. The input's hash picks which, and the pieces a stream arrives in. Checks:
// - no crash or sanitizer report ("exception" if anything throws);
// - an accepted body names a model whose byte range in the body is its JSON string token
//   ("messages_model_range"); a body the translation accepts gives a chat body the chat inspector
//   accepts, with the same model and stream, the routing fields written with it matching what
//   the inspector reads ("messages_chat_body"); a count body the translation
//   to OpenAI's input-token count accepts gives a JSON object with the upstream model and an
//   `input` array ("messages_count_body");
// - the translated stream is whole events, the same fed split or whole (translator_check.hpp);
//   each event has an `event:` line naming the type its JSON data repeats ("messages_event"); a
//   finished stream ends with message_stop, or with an error event after the upstream's own
//   ("messages_terminal"); a stream that did not finish ends, through final_error_event(), with
//   one error event ("messages_failed");
// - the relay passes on a prefix of its input (and, after a chat-style [DONE] that no
//   message_stop preceded, its own error event), whole events, the same split or whole
//   (translator_check.hpp); complete() gives a JSON object ("complete_json"); the input-token
//   count translator gives {"input_tokens": N} or refuses ("count_json").

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cstddef>
#include <cstdint>
#include <exception>

#include "gw/api/messages_request.hpp"
#include "gw/api/messages_to_chat.hpp"
#include "gw/providers/messages.hpp"
#include "gw/providers/openai_compatible.hpp"
#include "translator_check.hpp"

namespace {

using namespace gw::fuzz;
namespace json = boost::json;

void check_request(const std::string& body, bool count_tokens) {
  const auto info = count_tokens ? gw::api::inspect_count_tokens_request(body)
                                 : gw::api::inspect_messages_request(body);
  if (!info) {
    return;
  }
  const bool in_range = info->model_begin < info->model_end && info->model_end <= body.size() &&
                        body[info->model_begin] == '"' && body[info->model_end - 1] == '"' &&
                        !info->model.empty();
  GW_FUZZ_CHECK(in_range, "messages_model_range", "model range of: " + printable(body));
  if (count_tokens) {
    const auto counted = gw::api::messages_to_input_tokens(body, "upstream-model");
    if (!counted) {
      return;
    }
    boost::system::error_code ec;
    const json::value value = json::parse(*counted, ec);
    const auto* object = ec ? nullptr : value.if_object();
    GW_FUZZ_CHECK(object != nullptr && object->contains("input") &&
                      object->at("input").is_array() && object->contains("model") &&
                      object->at("model") == "upstream-model",
                  "messages_count_body",
                  "translated to an unacceptable input-token count body: " + printable(*counted));
    return;
  }
  const auto translated = gw::api::messages_to_chat(body);
  if (!translated) {
    return;
  }
  const auto chat = gw::api::inspect_chat_request(translated->body);
  GW_FUZZ_CHECK(chat.has_value() && chat->model == info->model && chat->stream == info->stream &&
                    same_splice_places(*chat, translated->info),
                "messages_chat_body",
                "translated to an unacceptable chat body: " + printable(translated->body));
}

std::unique_ptr<gw::providers::ResponseTranslator> from_chat() {
  // A fixed id: two runs of one input must give the same events.
  return gw::providers::make_messages_from_chat(gw::providers::make_pass_through(), "claude",
                                                "msg_fuzz");
}

// The types of a Messages stream's events as a client reads them; checks their framing.
std::vector<std::string> message_event_types(std::string_view bytes) {
  std::vector<std::string> out;
  for (const auto& event : events_of(bytes)) {
    boost::system::error_code ec;
    const json::value data = json::parse(event.data, ec);
    const bool framed = !ec && data.is_object() && data.as_object().contains("type") &&
                        data.as_object().at("type") == json::value(event.event);
    GW_FUZZ_CHECK(framed, "messages_event", "event: " + printable(event.event + "\n" + event.data));
    if (!framed) {
      break;
    }
    out.push_back(event.event);
  }
  return out;
}

void check_translated_stream(std::string_view input) {
  check_translator(input, from_chat, {}, true);
  auto translator = from_chat();
  bool failed = false;
  const std::string out = relayed(input, *translator, &failed);
  const auto types = message_event_types(out);
  if (translator->finished()) {
    const bool terminal =
        !types.empty() && (types.back() == "message_stop" ||
                           (types.back() == "error" && translator->relayed_error()));
    GW_FUZZ_CHECK(terminal && !failed, "messages_terminal", "finished, yet: " + printable(out));
    return;
  }
  const std::string last = translator->final_error_event(
      gw::core::Error(gw::core::Errc::kUpstreamError, "the upstream broke off"));
  if (translator->relayed_error()) {
    return;  // already ended by the upstream's own error event
  }
  const auto closing = message_event_types(last);
  GW_FUZZ_CHECK(!closing.empty() && closing.back() == "error" &&
                    std::count(closing.begin(), closing.end(), "error") == 1,
                "messages_failed", "unfinished stream ended with: " + printable(last));
}

void check_pass_through(std::string_view input) {
  StreamExpectations expect;
  expect.json_events = false;  // the upstream's events, relayed as they are
  check_translator(input, gw::providers::make_messages_pass_through, expect, true);
  const auto relay = gw::providers::make_messages_pass_through();
  const std::string out = relayed(input, *relay);
  // A prefix of the input, and (a chat-style [DONE] before message_stop) the relay's error event.
  const size_t own = out.rfind("event: error\ndata: {\"type\":\"error\",\"error\":");
  const bool prefix =
      input.starts_with(out) || (own != std::string::npos && relay->stream_error() != nullptr &&
                                 input.starts_with(std::string_view(out).substr(0, own)));
  GW_FUZZ_CHECK(prefix, "stream_split", "relayed more than a prefix: " + printable(out));
  // The same bytes as an OpenAI input-token count: accepted, they give Anthropic's count object.
  const auto count = gw::providers::make_count_from_input_tokens()->complete(std::string(input));
  if (count) {
    boost::system::error_code ec;
    const json::value value = json::parse(*count, ec);
    GW_FUZZ_CHECK(!ec && value.is_object() && value.as_object().size() == 1 &&
                      value.as_object().contains("input_tokens") &&
                      value.as_object().at("input_tokens").is_number(),
                  "count_json", "an unacceptable token count: " + printable(*count));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input = as_view(data, size);
  Random random(input);
  try {
    switch (random.between(0, 3)) {
      case 0:
        check_request(std::string(input), false);
        break;
      case 1:
        check_request(std::string(input), true);
        break;
      case 2:
        check_translated_stream(input);
        break;
      default:
        check_pass_through(input);
        break;
    }
  } catch (const std::exception& e) {
    GW_FUZZ_CHECK(false, "exception", std::string("threw: ") + e.what());
  }
  return 0;
}
