#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "gw/api/usage.hpp"

namespace gw::api {

// The first chunk's delta: the assistant's role, and empty content (as OpenAI sends it).
inline constexpr std::string_view kRoleDelta = R"({"role":"assistant","content":""})";

// The chat.completion.chunk events the gateway writes (translated streams, the echo model, the mock
// backend), as text: every chunk of a completion starts the same way (id, object, created, model),
// written once; only the delta and the finish reason vary. (Building each chunk as a JSON tree and
// serialising it cost more instructions than the rest of the relay.)
class ChunkWriter {
 public:
  // The completion's identity; chunks written before this have an empty id and model.
  void set_identity(std::string_view id, int64_t created, std::string_view model);
  bool has_identity() const { return !identity_.empty(); }

  // "data: {...chunk...}\n\n" with one choice: `delta` is a JSON object's text, an empty
  // `finish_reason` is null.
  void delta(std::string& out, std::string_view delta, std::string_view finish_reason = {});
  // A delta of text: {"content":"<text, escaped>"}.
  void content(std::string& out, std::string_view text);
  // The usage chunk: no choices, then the usage object.
  void usage(std::string& out, const Usage& usage);

 private:
  void ensure_identity();
  // The choice's end after its delta: the finish reason (null when empty) and the chunk's end.
  static void close_choice(std::string& out, std::string_view finish_reason);

  std::string identity_;       // "data: {" with id, object, created and model, and a comma
  std::string choice_prefix_;  // the identity and a choice up to its delta
};

}  // namespace gw::api
