// app::StreamContinuation (gw/app/routing/stream_continuation.hpp) on the events of a client's
// chat stream: the bytes before a break are recorded and turned into the next attempt's body,
// the bytes after it (another upstream's events, as its translator made them) are rewritten to
// go on as the client's stream.
//
// The input is split at a point chosen from its hash: before it, the recorded stream; after it,
// the resumed attempt's, fed in pieces. Checks: no crash or sanitizer report; a next body is a
// JSON object whose messages start with the client's ("continuation_body"); the rewritten
// stream is whole events, none of whose chunks names a role again once the client has one
// ("continuation_rewrite").

#include <boost/json/parse.hpp>
#include <cstddef>
#include <cstdint>

#include "fuzz_support.hpp"
#include "gw/app/routing/stream_continuation.hpp"

namespace {

namespace json = boost::json;

constexpr std::string_view kRequest =
    R"({"model":"m","stream":true,"messages":[{"role":"user","content":"Count to five"}]})";

void check_body(const std::string& body) {
  boost::system::error_code ec;
  const json::value value = json::parse(body, ec);
  const auto* object = value.if_object();
  const auto* messages = object != nullptr ? object->if_contains("messages") : nullptr;
  GW_FUZZ_CHECK(!ec && messages != nullptr && messages->is_array() &&
                    !messages->get_array().empty() &&
                    messages->get_array()[0] == json::parse(kRequest).at("messages").at(0),
                "continuation_body", gw::fuzz::printable(body));
}

void check_rewritten(std::string_view in, std::string_view out, bool drops_roles) {
  if (out.empty() || out == in) {
    return;  // nothing, comments only (passed on as they are), or nothing to change
  }
  GW_FUZZ_CHECK(out.ends_with("\n\n"), "continuation_rewrite", gw::fuzz::printable(out));
  gw::net::SseParser parser;
  parser.feed(out, [&](const gw::net::SseEvent& event) {
    boost::system::error_code ec;
    const json::value value = json::parse(event.data, ec);
    const auto* choices =
        !ec && value.is_object() ? value.get_object().if_contains("choices") : nullptr;
    if (choices == nullptr || !choices->is_array()) {
      return;
    }
    for (const auto& choice : choices->get_array()) {
      const auto* fields = choice.if_object();
      const auto* delta = fields != nullptr ? fields->if_contains("delta") : nullptr;
      GW_FUZZ_CHECK(!drops_roles || delta == nullptr || !delta->is_object() ||
                        !delta->get_object().contains("role"),
                    "continuation_rewrite", gw::fuzz::printable(event.data));
    }
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gw::fuzz;
  const std::string_view input = as_view(data, size);
  Random random(input);
  const size_t split = size == 0 ? 0 : random.between(0, size);
  using Mode = gw::app::StreamContinuation::Mode;
  gw::app::StreamContinuation continuation(
      random.coin() ? Mode::kContinue : Mode::kRetryBeforeFirstEvent,
      random.coin() ? "Go on." : "");
  Splitter splitter(random);
  for (const auto piece : splitter.pieces(input.substr(0, split))) {
    continuation.record(piece);
  }
  const auto body = continuation.next_body(kRequest);
  if (!body) {
    return 0;
  }
  if (!body->empty()) {  // (empty: the request as it was)
    check_body(*body);
  }
  continuation.carry_usage(static_cast<int64_t>(random.between(0, 1000)) - 1, 3);
  for (const auto piece : splitter.pieces(input.substr(split))) {
    check_rewritten(piece, continuation.rewrite(piece), continuation.drops_roles());
  }
  return 0;
}
