#pragma once

// Reading a client's JSON request body with simdjson's on-demand parser, without building a
// tree: what every endpoint's inspector shares (api/chat_request, api/embeddings_request).
// Files that include this header are compiled with the same SIMD flags (api/CMakeLists.txt).

#include <simdjson.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <tl/expected.hpp>

#include "gw/core/error.hpp"

namespace gw::api::request_json {

namespace od = simdjson::ondemand;

// Model names end up in log lines, metric labels and error messages; real ones are short.
inline constexpr size_t kMaxModelLength = 256;

od::parser& thread_parser();

// simdjson reads up to SIMDJSON_PADDING bytes past the end. A body with spare capacity is read
// in place; otherwise it is copied into a per-thread buffer that keeps its capacity, rather than
// growing (reallocating and copying) the body itself on every request.
simdjson::padded_string_view padded(const std::string& body);

// 400 for a body that is not one JSON object.
core::Error malformed();

// Length of a JSON string token at the start of `rest` (which begins with its opening quote).
size_t string_token_length(std::string_view rest);

// Whether `token` is RFC 8259's number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, any size.
bool is_json_number(std::string_view token);

// A raw token without the whitespace the on-demand parser leaves after it.
std::string_view trim_trailing_space(std::string_view token);

// A value the inspector does not read: walked once, refused as malformed or as too deep (with the
// message the translated providers give).
tl::expected<void, core::Error> check_skipped(od::value value);

// "model": a non-empty string of bounded length, once; the byte range of its token (quotes
// included) in `base`, for splicing, in [begin, end).
tl::expected<void, core::Error> read_model(od::value value, const char* base, std::string& out,
                                           size_t& begin, size_t& end);

// One member of a request body's top-level object.
struct Field {
  std::string_view key;  // unescaped
  od::value value;
  const char* base;  // the start of the bytes parsed, for offsets
  size_t key_begin;  // the key's string token (quotes included) starts here in `base`
};

// Walks the body's top-level object, calling `on_field(Field&)` for each member; a member it
// does not read must be passed to check_skipped. Refuses a body that is not exactly one JSON
// object.
template <typename OnField>
tl::expected<void, core::Error> for_each_field(const std::string& body, OnField&& on_field) {
  // Offsets are taken relative to the buffer simdjson reads, which may be a copy of the body.
  const simdjson::padded_string_view input = padded(body);
  od::document doc;
  od::object root;
  if (thread_parser().iterate(input).get(doc) != simdjson::SUCCESS ||
      doc.get_object().get(root) != simdjson::SUCCESS) {
    return tl::unexpected(malformed());
  }
  for (auto member : root) {
    Field read{{}, {}, input.data(), 0};
    od::raw_json_string raw_key;
    if (member.key().get(raw_key) != simdjson::SUCCESS ||
        member.unescaped_key().get(read.key) != simdjson::SUCCESS ||
        member.value().get(read.value) != simdjson::SUCCESS) {
      return tl::unexpected(malformed());
    }
    read.key_begin = static_cast<size_t>(raw_key.raw() - 1 - input.data());
    if (auto done = on_field(read); !done) {
      return done;
    }
  }
  if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS) {
    return tl::unexpected(malformed());
  }
  return {};
}

}  // namespace gw::api::request_json
