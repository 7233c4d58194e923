// The upstream response parser (ResponseParser in gw/net/message_parser.hpp) on an upstream's
// bytes.
//
// Each input is one pooled connection's bytes, read in pieces chosen from the input's hash, with
// the body written through a window of a chosen size that the reader empties (need_buffer), as
// upstream.cpp does. Checks: no crash or sanitizer report; clean fields, at most one
// content-length; no body for HEAD, 1xx, 204 and 304; a content-length body of exactly that
// size; a body limit, when set, kept; and the same messages, bodies, error and bytes consumed (when
// no error ended the reading) as reading the whole input at once through a window as large as the
// input.

#include <cstddef>
#include <cstdint>

#include "http1_feed.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gw::fuzz;
  const std::string_view input = as_view(data, size);
  Random random(input);
  Limits limits;
  limits.head_request = random.next() % 8 == 0;
  switch (random.next() % 4) {
    case 0:
      limits.header = random.between(16, 512);
      limits.body = random.between(0, 256);
      break;
    case 1:
      limits.window = random.between(1, 16);
      break;
    default:
      break;
  }
  Splitter splitter(random);
  const auto split = parse_responses(splitter.pieces(input), limits);
  Limits roomy = limits;
  roomy.window = input.size() + 1;
  const auto whole = parse_responses({input}, roomy);
  GW_FUZZ_CHECK(same_outcome(split, whole), "http1_split",
                "split reading differs from whole:\nwhole: " + describe(whole) +
                    "\nsplit: " + describe(split));
  return 0;
}
