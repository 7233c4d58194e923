// Anthropic's response translator (make_anthropic_stream_translator, gw/providers/anthropic.hpp):
// Messages API stream events in, OpenAI chat.completion.chunk events out; complete() on a whole
// Messages response.
//
// Checks (fuzz/translator_check.hpp): no crash, sanitizer report or exception; each feed's
// output is whole SSE events, each a JSON object or the final [DONE]; nothing after the end;
// the same events (ids and timestamps aside), end and usage whether the input comes whole or in
// pieces; complete() returns an error or valid JSON.

#include <cstddef>
#include <cstdint>

#include "gw/providers/anthropic.hpp"
#include "translator_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gw::fuzz;
  const std::string_view input = as_view(data, size);
  const bool include_usage = Random(input).coin();
  check_translator(
      input, [&] { return gw::providers::make_anthropic_stream_translator(include_usage); }, {},
      true);
  return 0;
}
