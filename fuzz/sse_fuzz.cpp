// gw::net::SseParser (gw/net/sse.hpp) on an upstream's event stream.
//
// The input is read in pieces chosen from its hash. Checks: no crash or sanitizer report; the
// events (type, data, id) and the pending state equal a reference reading of the whole stream
// written from the WHATWG rules (fuzz/sse_events.hpp), whatever the split ("sse_events",
// "sse_partial"); and the same events come when an empty piece is fed between the pieces
// ("sse_empty_feed"); feed_events() gives what feed() does ("sse_fast_path").

#include <cstddef>
#include <cstdint>

#include "sse_events.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gw::fuzz;
  const std::string_view input = as_view(data, size);
  Random random(input);
  Splitter splitter(random);
  const auto pieces = splitter.pieces(input);
  auto read = [&](gw::net::SseParser& parser, bool empty_feeds) {
    std::vector<Event> events;
    for (std::string_view piece : pieces) {
      for (auto& e : events_of(parser, piece)) {
        events.push_back(std::move(e));
      }
      if (empty_feeds) {
        // Callers may feed an empty piece (a read that brought nothing new, a relay's empty
        // batch): it must change nothing.
        for (auto& e : events_of(parser, {})) {
          events.push_back(std::move(e));
        }
      }
    }
    return events;
  };
  gw::net::SseParser parser;
  const auto events = read(parser, false);
  const auto expected = reference_events(input);
  GW_FUZZ_CHECK(events == expected.events, "sse_events",
                "parser: " + describe(events) + "\nreference: " + describe(expected.events) +
                    "\ninput: " + printable(input));
  GW_FUZZ_CHECK(parser.has_partial() == expected.partial, "sse_partial",
                "has_partial() " + std::to_string(parser.has_partial()) + ", reference " +
                    std::to_string(expected.partial) + "\ninput: " + printable(input));
  gw::net::SseParser with_empty_feeds;
  const auto events_with_empty_feeds = read(with_empty_feeds, true);
  GW_FUZZ_CHECK(events_with_empty_feeds == expected.events, "sse_empty_feed",
                "with empty feeds between pieces: " + describe(events_with_empty_feeds) +
                    "\nreference: " + describe(expected.events) + "\ninput: " + printable(input));
  // feed_events(), the relays' fast path for the usual event shapes, must agree with feed().
  gw::net::SseParser fast;
  std::vector<Event> fast_events;
  for (std::string_view piece : pieces) {
    fast.feed_events(piece, [&](const gw::net::SseEvent& e) {
      fast_events.push_back({std::string(e.event), std::string(e.data), std::string(e.id)});
    });
  }
  GW_FUZZ_CHECK(fast_events == expected.events && fast.has_partial() == expected.partial,
                "sse_fast_path",
                "feed_events: " + describe(fast_events) +
                    "\nreference: " + describe(expected.events) + "\ninput: " + printable(input));
  parser.reset();
  GW_FUZZ_CHECK(!parser.has_partial(), "sse_reset", "partial after reset()");
  return 0;
}
