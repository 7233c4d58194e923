// Anthropic's Messages API inbound (gw/api/messages_request.hpp, make_messages_pass_through in
// gw/providers/anthropic.hpp): a client's body through the inspectors (message, token count); an
// upstream's own Messages stream and message through the pass-through relay. The input's hash picks
// which, and the pieces a stream arrives in. Checks:
// - no crash or sanitizer report ("exception" if anything throws);
// - an accepted body names a model whose byte range in the body is its JSON string token
//   ("messages_model_range");
// - the relay passes on a prefix of its input, whole events, the same split or whole
//   (translator_check.hpp); complete() gives a JSON object ("complete_json").

#include <cstddef>
#include <cstdint>
#include <exception>

#include "gw/api/messages_request.hpp"
#include "gw/providers/anthropic.hpp"
#include "translator_check.hpp"

namespace {

using namespace gw::fuzz;

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
}

void check_pass_through(std::string_view input) {
  StreamExpectations expect;
  expect.json_events = false;  // the upstream's events, relayed as they are
  check_translator(input, gw::providers::make_messages_pass_through, expect, true);
  const auto relay = gw::providers::make_messages_pass_through();
  const std::string out = relayed(input, *relay);
  GW_FUZZ_CHECK(input.starts_with(out), "stream_split",
                "relayed more than a prefix: " + printable(out));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input = as_view(data, size);
  Random random(input);
  try {
    switch (random.between(0, 2)) {
      case 0:
        check_request(std::string(input), false);
        break;
      case 1:
        check_request(std::string(input), true);
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
