// The OpenAI-dialect stream relay, providers::make_pass_through(strip_usage)
// (gw/providers/openai_compatible.hpp), on an upstream's event stream; and api::read_usage, which
// it calls on every event carrying usage.
//
// The input is fed in pieces chosen from its hash, to a relay that keeps usage and to one that
// strips the usage-only chunk. feed() may refuse a stream (an error): feeding stops there, as the
// proxy does. Checks, with `kept` the keeping relay's output and `stripped` the other's:
// - kept is a prefix of the input, ends between events, and each feed's output ends between
//   events ("pt_prefix", "pt_whole_events");
// - every complete event of the input up to the first [DONE] (none after it) has been relayed
//   once the input is all fed, except what a feed error cut off ("pt_liveness");
// - finished() and relayed_error() follow the [DONE] and {"error" events relayed ("pt_flags");
// - each stripped batch is the kept batch minus its usage-only chunks (readable usage, no
//   choices), event for event ("pt_strip");
// - read_usage agrees with Boost.JSON on events whose only "usage" is the top-level key
//   ("pt_read_usage");
// - buffered() is what has been fed and not relayed, until [DONE] ("pt_buffered");
// - complete() relays the whole input as is exactly when Boost.JSON reads it as a JSON object
//   ("pt_complete"), and reads the same top-level usage counts as Boost.JSON
//   ("pt_complete_usage").

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cstddef>
#include <cstdint>

#include "gw/api/chat_request.hpp"
#include "gw/providers/openai_compatible.hpp"
#include "sse_events.hpp"

namespace {

using namespace gw::fuzz;
namespace json = boost::json;

size_t count(std::string_view text, std::string_view what) {
  size_t n = 0;
  for (size_t p = text.find(what); p != std::string_view::npos; p = text.find(what, p + 1)) {
    ++n;
  }
  return n;
}

void check_read_usage(std::string_view data) {
  const auto got = gw::api::read_usage(data);
  if (count(data, R"("usage")") != 1 || count(data, R"("prompt_tokens")") > 1 ||
      count(data, R"("completion_tokens")") > 1) {
    return;  // nested or repeated keys: read_usage documents that it reads the last one
  }
  boost::system::error_code ec;
  const auto value = json::parse(data, ec);
  if (ec || !value.is_object()) {
    return;
  }
  const auto* usage = value.as_object().if_contains("usage");
  if (usage == nullptr) {
    return;  // the key is elsewhere (nested, or in a string)
  }
  std::optional<gw::api::Usage> expected;
  if (usage->is_object()) {
    expected.emplace();
    for (auto [key, field] : {std::pair{"prompt_tokens", &expected->prompt_tokens},
                              std::pair{"completion_tokens", &expected->completion_tokens}}) {
      if (const auto* v = usage->as_object().if_contains(key); v != nullptr && v->is_int64()) {
        *field = v->as_int64();
      }
    }
  }
  auto show = [](const std::optional<gw::api::Usage>& u) {
    return u ? std::to_string(u->prompt_tokens) + "/" + std::to_string(u->completion_tokens)
             : std::string("none");
  };
  GW_FUZZ_CHECK(
      got.has_value() == expected.has_value() &&
          (!got || (got->prompt_tokens == expected->prompt_tokens &&
                    got->completion_tokens == expected->completion_tokens)),
      "pt_read_usage",
      "read_usage " + show(got) + ", Boost.JSON " + show(expected) + " for " + printable(data));
}

bool usage_only(std::string_view data) {
  return data.find(R"("usage":{)") != std::string_view::npos &&
         data.find(R"("choices":[])") != std::string_view::npos;
}

struct Relayed {
  std::vector<std::string> batches;
  bool failed = false;
  bool finished = false;
  bool relayed_error = false;
  size_t buffered = 0;
};

Relayed relay(bool strip_usage, const std::vector<std::string_view>& pieces) {
  Relayed out;
  auto translator = gw::providers::make_pass_through(strip_usage);
  for (std::string_view piece : pieces) {
    auto ready = translator->feed(piece);
    if (!ready) {
      out.failed = true;
      break;
    }
    out.batches.emplace_back(*ready);
  }
  out.finished = translator->finished();
  out.relayed_error = translator->relayed_error();
  out.buffered = translator->buffered();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input = as_view(data, size);
  Random random(input);
  Splitter splitter(random);
  const auto pieces = splitter.pieces(input);
  const auto kept = relay(false, pieces);
  const auto stripped = relay(true, pieces);

  std::string all;
  gw::net::SseParser client;
  std::vector<Event> events;
  for (const auto& batch : kept.batches) {
    all += batch;
    for (auto& e : events_of(client, batch)) {
      events.push_back(std::move(e));
    }
    GW_FUZZ_CHECK(!client.has_partial(), "pt_whole_events",
                  "a batch ends inside an event: " + printable(batch));
  }
  GW_FUZZ_CHECK(input.starts_with(all), "pt_prefix",
                "relayed bytes are not the input's: " + printable(all));
  if (!kept.failed && !kept.finished) {
    GW_FUZZ_CHECK(kept.buffered == input.size() - all.size(), "pt_buffered",
                  "buffered() " + std::to_string(kept.buffered) + " with " +
                      std::to_string(input.size() - all.size()) + " bytes not relayed");
  }
  if (!kept.failed) {
    auto expected = reference_events(input).events;
    // The stream ends at [DONE]: nothing after it is relayed.
    const auto done = std::find_if(expected.begin(), expected.end(),
                                   [](const Event& e) { return e.data == "[DONE]"; });
    if (done != expected.end()) {
      expected.erase(done + 1, expected.end());
    }
    GW_FUZZ_CHECK(events == expected, "pt_liveness",
                  "relayed " + describe(events) + "\nstream has " + describe(expected) +
                      "\ninput: " + printable(input));
  }
  bool done = false;
  bool error = false;
  for (const auto& e : events) {
    done = done || e.data == "[DONE]";
    error = error || e.data.starts_with(R"({"error")");
    check_read_usage(e.data);
  }
  GW_FUZZ_CHECK(kept.finished == done && kept.relayed_error == error, "pt_flags",
                "finished " + std::to_string(kept.finished) + " relayed_error " +
                    std::to_string(kept.relayed_error) + " for " + describe(events));

  GW_FUZZ_CHECK(stripped.batches.size() == kept.batches.size() && stripped.failed == kept.failed,
                "pt_strip", "the stripping relay fed differently");
  for (size_t i = 0; i < kept.batches.size() && i < stripped.batches.size(); ++i) {
    // The usage-only chunk: not [DONE], not an error event, with readable usage and no choices.
    auto usage_chunk = [](const Event& e) {
      return e.data != "[DONE]" && !e.data.starts_with(R"({"error")") && usage_only(e.data) &&
             gw::api::read_usage(e.data).has_value();
    };
    auto expected = events_of(kept.batches[i]);
    if (std::none_of(expected.begin(), expected.end(), usage_chunk)) {
      GW_FUZZ_CHECK(
          stripped.batches[i] == kept.batches[i], "pt_strip",
          "a batch without a usage-only chunk changed: " + printable(stripped.batches[i]));
      continue;
    }
    // Exactly the usage-only chunks go; every other event is relayed as it came.
    std::erase_if(expected, usage_chunk);
    const auto got = events_of(stripped.batches[i]);
    GW_FUZZ_CHECK(got == expected, "pt_strip",
                  "stripped " + describe(got) + "\nexpected " + describe(expected));
  }

  // A non-streamed body is relayed when it is a JSON object, refused otherwise.
  boost::json::parse_options deep;
  deep.max_depth = 100000;  // the usage reader's limit, far above Boost.JSON's default of 32
  boost::system::error_code ec;
  const auto value = json::parse(input, ec, {}, deep);
  const bool object = !ec && value.is_object();
  auto translator = gw::providers::make_pass_through(false);
  auto completed = translator->complete(std::string(input));
  GW_FUZZ_CHECK(
      completed.has_value() == object && (!completed || *completed == input), "pt_complete",
      std::string("complete() ") + (completed ? "relayed" : "refused") +
          ", Boost.JSON: " + (ec ? ec.message() : std::string("parsed")) + ": " + printable(input));
  // Its usage is the top-level "usage" object's integer counts, clamped, as Boost.JSON reads
  // them (when the key is written once and nothing is escaped: no duplicate by another
  // spelling), unknown (-1) when not given ("pt_complete_usage").
  if (completed && object && count(input, R"("usage")") == 1 &&
      input.find('\\') == std::string_view::npos) {
    gw::api::Usage expected;
    if (const auto* usage = value.as_object().if_contains("usage");
        usage != nullptr && usage->is_object()) {
      for (auto [key, field] : {std::pair{"prompt_tokens", &expected.prompt_tokens},
                                std::pair{"completion_tokens", &expected.completion_tokens}}) {
        if (const auto* v = usage->as_object().if_contains(key); v != nullptr && v->is_int64()) {
          *field = gw::api::sane_token_count(v->as_int64());
        }
      }
    }
    const auto got = translator->completion_usage().value_or(gw::api::Usage{});
    GW_FUZZ_CHECK(got.prompt_tokens == expected.prompt_tokens &&
                      got.completion_tokens == expected.completion_tokens,
                  "pt_complete_usage",
                  "completion usage " + std::to_string(got.prompt_tokens) + "/" +
                      std::to_string(got.completion_tokens) + ", Boost.JSON " +
                      std::to_string(expected.prompt_tokens) + "/" +
                      std::to_string(expected.completion_tokens) + " for " + printable(input));
  }
  return 0;
}
