#pragma once

// Runs a provider's ResponseTranslator (gw/providers/provider.hpp) over an upstream's bytes as the
// chat proxy does, and checks what the client would get.

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <exception>
#include <functional>
#include <memory>

#include "gw/api/chat_request.hpp"
#include "gw/providers/provider.hpp"
#include "sse_events.hpp"

namespace gw::fuzz {

namespace json = boost::json;

struct StreamRun {
  std::vector<std::string> batches;
  bool failed = false;  // feed() refused the stream
  bool finished = false;
  api::Usage usage;
};

using MakeTranslator = std::function<std::unique_ptr<providers::ResponseTranslator>()>;

// Exceptions are not how the data path reports errors (STYLE.md): one escaping a translator is a
// finding ("exception"), reported with its message rather than as a bare abort. With that id in
// GW_FUZZ_IGNORE it counts as a refused stream instead.
template <class F>
auto no_throw(F&& f, std::string_view where) -> decltype(f()) {
  try {
    return f();
  } catch (const std::exception& e) {
    GW_FUZZ_CHECK(false, "exception", std::string(where) + " threw: " + e.what());
    return tl::unexpected(core::Error(core::Errc::kInternal, e.what()));
  }
}

struct StreamExpectations {
  bool json_events = true;      // every event but [DONE] is a JSON object
  bool quiet_after_end = true;  // nothing is sent once finished()
};

inline StreamRun run_stream(const MakeTranslator& make, const std::vector<std::string_view>& pieces,
                            const StreamExpectations& expect) {
  StreamRun run;
  auto translator = make();
  for (std::string_view piece : pieces) {
    const bool was_finished = translator->finished();
    auto ready = no_throw([&] { return translator->feed(piece); }, "feed()");
    if (!ready) {
      run.failed = true;
      break;
    }
    if (was_finished && expect.quiet_after_end) {
      GW_FUZZ_CHECK(ready->empty(), "stream_after_end",
                    "output after the end of the stream: " + printable(*ready));
    }
    run.batches.emplace_back(*ready);
  }
  run.finished = translator->finished();
  run.usage = translator->usage();
  if (!run.failed) {
    size_t fed = 0;
    for (std::string_view piece : pieces) {
      fed += piece.size();
    }
    GW_FUZZ_CHECK(translator->buffered() <= fed, "stream_buffered",
                  "buffered() " + std::to_string(translator->buffered()) + " of " +
                      std::to_string(fed) + " bytes fed");
  }
  return run;
}

// Removes what differs between two runs of one stream by design: generated ids and timestamps.
inline void normalise(json::value& v) {
  if (v.is_object()) {
    v.as_object().erase("id");
    v.as_object().erase("created");
    v.as_object().erase("completed_at");  // a Responses object's: the clock's
    for (auto& [key, child] : v.as_object()) {
      normalise(child);
    }
  } else if (v.is_array()) {
    for (auto& child : v.as_array()) {
      normalise(child);
    }
  }
}

// The client's view of a run: its events, each batch whole, [DONE] at most once and last.
inline std::vector<json::value> check_output(const StreamRun& run,
                                             const StreamExpectations& expect) {
  net::SseParser client;
  std::vector<json::value> values;
  bool done = false;
  for (const auto& batch : run.batches) {
    for (const auto& e : events_of(client, batch)) {
      if (expect.quiet_after_end) {
        GW_FUZZ_CHECK(!done, "stream_done", "an event after [DONE]: " + printable(e.data));
      }
      if (e.data == "[DONE]") {
        done = true;
        values.emplace_back("[DONE]");
        continue;
      }
      boost::system::error_code ec;
      auto value = json::parse(e.data, ec);
      if (expect.json_events) {
        GW_FUZZ_CHECK(!ec && value.is_object(), "stream_json",
                      "an event that is not a JSON object: " + printable(e.data));
      }
      if (!ec) {
        normalise(value);
      } else {
        value = json::string(e.data);
      }
      values.push_back(std::move(value));
    }
    GW_FUZZ_CHECK(!client.has_partial(), "stream_whole_events",
                  "a batch ends inside an event: " + printable(batch));
  }
  if (done) {
    GW_FUZZ_CHECK(run.finished, "stream_done", "[DONE] sent but finished() is false");
  }
  return values;
}

// Split against whole, then complete() on the whole body.
inline void check_translator(std::string_view input, const MakeTranslator& make,
                             const StreamExpectations& expect, bool complete_is_json) {
  Random random(input);
  Splitter splitter(random);
  const auto split = run_stream(make, splitter.pieces(input), expect);
  const auto whole = run_stream(make, {input}, expect);
  const auto split_values = check_output(split, expect);
  const auto whole_values = check_output(whole, expect);
  GW_FUZZ_CHECK(split.failed == whole.failed, "stream_split",
                "split feed failed " + std::to_string(split.failed) + ", whole " +
                    std::to_string(whole.failed));
  if (!split.failed && !whole.failed) {
    GW_FUZZ_CHECK(split_values == whole_values && split.finished == whole.finished &&
                      split.usage.prompt_tokens == whole.usage.prompt_tokens &&
                      split.usage.completion_tokens == whole.usage.completion_tokens,
                  "stream_split",
                  "split and whole feeds differ: " + std::to_string(split_values.size()) + " vs " +
                      std::to_string(whole_values.size()) + " events");
  }

  auto translator = make();
  auto completed = no_throw([&] { return translator->complete(std::string(input)); }, "complete()");
  if (completed && complete_is_json) {
    boost::system::error_code ec;
    json::parse(*completed, ec);
    GW_FUZZ_CHECK(!ec, "complete_json", "complete() made invalid JSON: " + printable(*completed));
  }
}

// What `relay` passes on of `input` fed in the input's pieces (up to a failed feed, which sets
// `failed`).
inline std::string relayed(std::string_view input, providers::ResponseTranslator& relay,
                           bool* failed = nullptr) {
  Random random(input);
  Splitter splitter(random);
  std::string out;
  for (std::string_view piece : splitter.pieces(input)) {
    auto ready = no_throw([&] { return relay.feed(piece); }, "feed()");
    if (!ready) {
      if (failed != nullptr) {
        *failed = true;
      }
      break;
    }
    out += *ready;
  }
  return out;
}

// Whether a chat request the gateway wrote (api::write_chat_request) says what inspecting its text
// says: the flags and the places upstream_chat_body splices at.
inline bool same_splice_places(const api::ChatRequestInfo& inspected,
                               const api::ChatRequestInfo& written) {
  return inspected.model == written.model && inspected.stream == written.stream &&
         inspected.include_usage == written.include_usage &&
         inspected.has_stream_options == written.has_stream_options &&
         inspected.model_begin == written.model_begin && inspected.model_end == written.model_end &&
         inspected.max_tokens_keys == written.max_tokens_keys &&
         (written.max_tokens_keys == 0 ||
          (inspected.max_tokens_key_begin == written.max_tokens_key_begin &&
           inspected.max_tokens_key_end == written.max_tokens_key_end)) &&
         inspected.has_max_completion_tokens == written.has_max_completion_tokens;
}

}  // namespace gw::fuzz
