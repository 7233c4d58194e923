// The server's request parser (gw/net/http1_parser.hpp, message_parser.hpp) on a client's bytes.
//
// Each input is one connection's bytes, read in pieces chosen from the input's hash and parsed as
// the session does (pipelined requests on one head storage). Checks: no crash or sanitizer
// report; every accepted request has a token method, a clean target and fields, at most one
// content-length, never both content-length and transfer-encoding, a body within the limit and,
// without transfer-encoding, exactly content-length bytes; and the split reading gives exactly
// what the whole input read at once gives (messages, fields, bodies, error, and the bytes
// consumed unless an error ended the reading).

#include <cstddef>
#include <cstdint>

#include "http1_feed.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gw::fuzz;
  const std::string_view input = as_view(data, size);
  Random random(input);
  Limits limits;
  limits.body = uint64_t{1} << 20;
  switch (random.next() % 4) {
    case 0:  // small limits, so that the limit paths are reached by small inputs
      limits.header = random.between(16, 512);
      limits.body = random.between(0, 256);
      break;
    case 1:
      limits.body = uint64_t{32} << 20;  // the server's default (ServerOptions::max_body_bytes)
      break;
    default:
      break;
  }
  Splitter splitter(random);
  const auto split = parse_requests(splitter.pieces(input), limits);
  const auto whole = parse_requests({input}, limits);
  GW_FUZZ_CHECK(same_outcome(split, whole), "http1_split",
                "split reading differs from whole:\nwhole: " + describe(whole) +
                    "\nsplit: " + describe(split));
  return 0;
}
