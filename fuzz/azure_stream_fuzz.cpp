// Azure OpenAI's stream normaliser (make_azure_stream_normalizer, gw/providers/azure.hpp): an
// OpenAI-dialect event stream in, the same with Azure's opening prompt-filter chunk folded into
// the first real chunk, one id across the stream, and (strip_usage) the usage-only chunk dropped.
// (OpenAI's own relay is the pass-through: pass_through_fuzz.)
//
// Checks (fuzz/translator_check.hpp): no crash, sanitizer report or exception; each feed's
// output is whole SSE events; the same events (ids aside), end and usage whether the input comes
// whole or in pieces. Here also ("azure_relay"): never more events out than in, and an event that
// is not JSON is relayed as it came (its data unchanged); "azure_relay_multiline" when such an
// event's data has several lines.

#include <cstddef>
#include <cstdint>
#include <set>

#include "gw/providers/azure.hpp"
#include "translator_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gw::fuzz;
  const std::string_view input = as_view(data, size);
  const bool strip_usage = Random(input).coin();
  const MakeTranslator make = [&] {
    return gw::providers::make_azure_stream_normalizer(strip_usage);
  };
  const StreamExpectations expect{.json_events = false};
  const auto in_events = reference_events(input).events;
  // The known way to break the relay (a non-JSON event whose data has several lines) has a check
  // of its own, and such inputs get only that one, so that the rest can be fuzzed past it.
  std::set<std::string> relayed_as_is;
  const char* id = "azure_relay";
  for (const auto& e : in_events) {
    relayed_as_is.insert(e.data);
    boost::system::error_code ec;
    const auto value = json::parse(e.data, ec);
    if ((ec || !value.is_object()) && e.data.find('\n') != std::string::npos) {
      id = "azure_relay_multiline";
    }
  }
  if (std::string_view(id) == "azure_relay") {
    check_translator(input, make, expect, false);
  }

  const auto run = run_stream(make, {input}, expect);
  std::string out;
  for (const auto& batch : run.batches) {
    out += batch;
  }
  const auto out_events = events_of(out);
  GW_FUZZ_CHECK(
      out_events.size() <= in_events.size(), id,
      "more events out than in:\nin: " + describe(in_events) + "\nout: " + describe(out_events));
  for (const auto& e : out_events) {
    boost::system::error_code ec;
    const auto value = json::parse(e.data, ec);
    if (ec || !value.is_object()) {
      GW_FUZZ_CHECK(relayed_as_is.contains(e.data), id,
                    "a non-JSON event changed on the way: " + printable(e.data) +
                        "\nin: " + describe(in_events));
    }
  }
  return 0;
}
