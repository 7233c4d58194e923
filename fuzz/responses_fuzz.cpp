// The Responses API (gw/api/responses_request.hpp, gw/providers/responses.hpp): a client's body
// through the inspector and the translation to chat; an upstream's chat stream and completion
// through the translator to Responses events and objects; an upstream's own Responses stream
// through the pass-through relay. The input's hash picks which, and the pieces a stream arrives in.
// Checks:
// - no crash or sanitizer report ("exception" if anything throws);
// - a body the translation accepts gives a chat body the chat inspector accepts, with the same
//   model and stream, the routing fields written with it matching what the inspector reads, and
//   echoed settings that are JSON members ("responses_chat_body");
// - the translated stream is whole events, the same fed split or whole (translator_check.hpp);
//   each event has an `event:` line naming the type its JSON data repeats, and sequence numbers
//   count up from 0 ("responses_sequence"); a finished stream ends with response.completed or
//   response.incomplete, or response.failed after an error ("responses_terminal"); a stream that
//   did not finish ends, through final_error_event(), with events that go on counting and end
//   with response.failed ("responses_failed");
// - complete() gives a JSON object (translator_check.hpp's "complete_json");
// - the pass-through relays a prefix of its input (and, after a [DONE] that no terminal event
//   preceded, its own error event), whole events, the same split or whole.

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cstddef>
#include <cstdint>
#include <exception>

#include "gw/api/responses_request.hpp"
#include "gw/providers/openai_compatible.hpp"
#include "gw/providers/responses.hpp"
#include "translator_check.hpp"

namespace {

using namespace gw::fuzz;
namespace json = boost::json;

void check_request(const std::string& body) {
  const auto info = gw::api::inspect_responses_request(body);
  if (!info) {
    return;
  }
  const auto translated = gw::api::responses_to_chat(body);
  if (!translated) {
    return;
  }
  const auto chat = gw::api::inspect_chat_request(translated->chat.body);
  GW_FUZZ_CHECK(chat.has_value() && chat->model == info->model && chat->stream == info->stream &&
                    same_splice_places(*chat, translated->chat.info),
                "responses_chat_body",
                "translated to an unacceptable chat body: " + printable(translated->chat.body));
  boost::system::error_code ec;
  json::parse("{" + translated->echoed + "}", ec);
  GW_FUZZ_CHECK(!ec, "responses_chat_body", "echoed settings: " + printable(translated->echoed));
}

std::unique_ptr<gw::providers::ResponseTranslator> from_chat() {
  // A fixed identity: two runs of one input must give the same events.
  return gw::providers::make_responses_from_chat(
      gw::providers::make_pass_through(),
      gw::providers::ResponseIdentity{"resp_fuzz", 1, R"("instructions":null)"});
}

// The events of a Responses stream as a client reads them; checks their framing and numbering.
std::vector<json::object> responses_events(std::string_view bytes, int64_t first_sequence) {
  std::vector<json::object> out;
  for (const auto& event : events_of(bytes)) {
    boost::system::error_code ec;
    json::value data = json::parse(event.data, ec);
    const bool framed = !ec && data.is_object() && data.as_object().contains("type") &&
                        data.as_object().at("type") == json::value(event.event) &&
                        data.as_object().contains("sequence_number") &&
                        data.as_object().at("sequence_number") ==
                            json::value(first_sequence + static_cast<int64_t>(out.size()));
    GW_FUZZ_CHECK(framed, "responses_sequence",
                  "event: " + printable(event.event + "\n" + event.data));
    if (!framed) {
      break;
    }
    out.push_back(std::move(data.as_object()));
  }
  return out;
}

bool has_type(const json::object& event, std::string_view type) {
  return event.at("type") == json::value(type);
}

void check_translated_stream(std::string_view input) {
  check_translator(input, from_chat, {}, true);
  auto translator = from_chat();
  bool failed = false;
  const std::string out = relayed(input, *translator, &failed);
  const auto events = responses_events(out, 0);
  if (translator->finished()) {
    const bool terminal = !events.empty() && (has_type(events.back(), "response.completed") ||
                                              has_type(events.back(), "response.incomplete") ||
                                              has_type(events.back(), "response.failed"));
    GW_FUZZ_CHECK(terminal && !failed, "responses_terminal", "finished, yet: " + printable(out));
    return;
  }
  // The relay ends an unfinished stream with the translator's final error event.
  const std::string last = translator->final_error_event(
      gw::core::Error(gw::core::Errc::kUpstreamError, "the upstream broke off"));
  if (translator->relayed_error()) {
    return;  // already failed by the upstream's own error event
  }
  const auto closing = responses_events(last, static_cast<int64_t>(events.size()));
  GW_FUZZ_CHECK(!closing.empty() && has_type(closing.back(), "response.failed"), "responses_failed",
                "unfinished stream ended with: " + printable(last));
}

void check_pass_through(std::string_view input) {
  StreamExpectations expect;
  expect.json_events = false;  // the upstream's events, relayed as they are
  check_translator(input, gw::providers::make_responses_pass_through, expect, true);
  const auto relay = gw::providers::make_responses_pass_through();
  const std::string out = relayed(input, *relay);
  // A prefix of the input, and (a [DONE] before any terminal event) the relay's own error event.
  const size_t own = out.rfind("event: error\ndata: {\"type\":\"error\",\"sequence_number\":");
  const bool prefix =
      input.starts_with(out) || (own != std::string::npos && relay->stream_error() != nullptr &&
                                 input.starts_with(std::string_view(out).substr(0, own)));
  GW_FUZZ_CHECK(prefix, "stream_split", "relayed more than a prefix: " + printable(out));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input = as_view(data, size);
  Random random(input);
  try {
    switch (random.between(0, 2)) {
      case 0:
        check_request(std::string(input));
        break;
      case 1:
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
