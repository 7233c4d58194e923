#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace gw::providers {

// The chat.completion.chunk events a translated stream sends, written as text: every chunk of a
// completion starts the same way (id, object, created, model), written once; only the delta and
// the finish reason vary. (Building each chunk as a JSON tree and serialising it cost more
// instructions than the rest of the relay.)
class ChunkWriter {
 public:
  // The completion's identity; chunks written before this have an empty id and model.
  void set_identity(std::string_view id, int64_t created, std::string_view model);
  bool has_identity() const { return !identity_.empty(); }

  // "data: {...chunk...}\n\n" with one choice: `delta` is a JSON object's text, an empty
  // `finish_reason` is null.
  void delta(std::string& out, std::string_view delta, std::string_view finish_reason = {});
  // The usage chunk: no choices, then `usage` (a JSON object's text).
  void usage(std::string& out, std::string_view usage);

 private:
  void ensure_identity();

  std::string identity_;       // "data: {" with id, object, created and model, and a comma
  std::string choice_prefix_;  // the identity and a choice up to its delta
};

}  // namespace gw::providers
