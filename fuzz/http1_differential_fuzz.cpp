// Our request parser against Boost.Beast's http::request_parser<string_body>, on the first
// request of a connection's bytes.
//
// Ours is meant to be stricter than Beast, never laxer: where two parsers in a chain disagree on
// where a request ends, requests can be smuggled past the first. So:
// - ours rejects, Beast accepts: fine, by design (see "Intentional differences" below);
// - ours accepts, Beast rejects: a finding (check "diff_beast_rejects"; "diff_chunk_ext" when
//   Beast refuses a chunk extension, "diff_trailer_fields" a trailer field or closes for one);
// - both accept: method, target, fields, body, keep-alive and the request's length in bytes must
//   agree (check "diff_mismatch").
//
// Intentional differences, normalised before comparing:
// - Empty lines (CRLF) before the request line are skipped by ours (RFC 9112 §2.2); Beast
//   refuses them, so Beast is given the bytes after them.
// - A later HTTP/1.x minor version (1.2-1.9) is served as 1.1 by ours (RFC 9110 §2.5); Beast
//   refuses it, so Beast is given "HTTP/1.1" in its place.
// - An HTTP/1.0 request with transfer-encoding ends its connection in ours (RFC 9112 §6.1);
//   Beast keeps it: ours closing where Beast would not is not compared.
// - Beast's field container inserts a field after the last one of the same name; ours keeps
//   wire order: ours is put in Beast's order before comparing.
// - Trailer fields after a chunked body are dropped by ours and appended to the fields by Beast:
//   only the head's fields are compared.
// - Connection and Proxy-Connection values must be valid token lists for Beast (else bad_value);
//   ours only looks for "close" and "keep-alive" elements. When Beast refuses a request for a bad
//   value, it is given the request again with those two fields renamed (same length, so the
//   framing is unchanged), and keep-alive is not compared.
// - Beast's limits are set far above ours, so that only ours enforces a limit.
// Ours refuses what Beast lets through (not compared, since ours rejects): obs-fold, bare LF line
// ends, whitespace before a colon, content-length with transfer-encoding, several
// content-length fields even when equal, codings other than a final chunked in requests.

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstddef>
#include <cstdint>

#include "http1_feed.hpp"

namespace {

namespace http = boost::beast::http;
using namespace gw::fuzz;

struct BeastResult {
  error_code ec;
  ParsedMessage message;
};

// Fields as Beast's container orders them: each after the last one of the same name.
std::vector<std::pair<std::string, std::string>> in_beast_order(
    const std::vector<std::pair<std::string, std::string>>& fields) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& field : fields) {
    auto at = out.end();
    for (auto it = out.begin(); it != out.end(); ++it) {
      if (gw::net::iequals(it->first, field.first)) {
        at = it + 1;
      }
    }
    out.insert(at, field);
  }
  return out;
}

BeastResult beast_parse(std::string_view input) {
  BeastResult result;
  http::request_parser<http::string_body> parser;
  parser.eager(true);
  parser.header_limit(1u << 30);
  parser.body_limit(uint64_t{1} << 40);
  size_t used = 0;
  error_code ec;
  while (!parser.is_done()) {
    const size_t n = parser.put(boost::asio::buffer(input.data() + used, input.size() - used), ec);
    used += n;
    if (ec == http::error::need_more) {
      if (n > 0 && used < input.size()) {
        continue;
      }
      parser.put_eof(ec);  // no more bytes: complete, or partial_message
      break;
    }
    if (ec) {
      break;
    }
  }
  result.ec = ec;
  if (!ec && parser.is_done()) {
    const auto& m = parser.get();
    auto str = [](auto view) { return std::string(view.data(), view.size()); };
    result.message.method = str(m.method_string());
    result.message.target = str(m.target());
    for (const auto& field : m) {
      result.message.fields.emplace_back(str(field.name_string()), str(field.value()));
    }
    result.message.body = m.body();
    result.message.keep_alive = parser.keep_alive();
    result.message.end = used;
  }
  return result;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input = as_view(data, size);
  Limits limits;
  limits.body = uint64_t{1} << 20;
  const auto ours = parse_requests({input}, limits);
  if (ours.messages.empty()) {
    return 0;  // ours rejected the first request (or it is incomplete): nothing to compare
  }
  ParsedMessage mine = ours.messages.front();
  size_t skipped = 0;
  while (input.substr(skipped, 2) == "\r\n") {
    skipped += 2;
  }
  std::string theirs_input(input.substr(skipped));
  const size_t line_end = theirs_input.find("\r\n");
  if (line_end != std::string::npos && line_end >= 9 &&
      theirs_input.compare(line_end - 8, 7, "HTTP/1.") == 0 && theirs_input[line_end - 1] > '1') {
    theirs_input[line_end - 1] = '1';
  }
  auto beast = beast_parse(theirs_input);
  bool renamed_connection = false;
  if (beast.ec == http::error::bad_value) {
    // Rename the fields Beast validates as token lists: "Xonnection", "Xroxy-Connection".
    const size_t head_end = theirs_input.find("\r\n\r\n");
    for (size_t line = theirs_input.find("\r\n"); line < head_end;
         line = theirs_input.find("\r\n", line + 2)) {
      const std::string_view rest = std::string_view(theirs_input).substr(line + 2);
      for (std::string_view name : {"connection:", "proxy-connection:"}) {
        if (rest.size() >= name.size() && gw::net::iequals(rest.substr(0, name.size()), name)) {
          theirs_input[line + 2] = 'X';
          renamed_connection = true;
        }
      }
    }
    if (renamed_connection) {
      beast = beast_parse(theirs_input);
    }
  }
  // Chunk extensions: ours checks only that they hold no control bytes; Beast parses them as
  // token / quoted-string, and reads an unterminated quoted string past the line's CRLF. A check
  // of its own, so that the rest can be fuzzed past this known finding.
  const bool chunk_ext = beast.ec == http::error::bad_chunk_extension ||
                         (beast.ec == http::error::partial_message &&
                          input.substr(0, mine.end).find(';') != std::string_view::npos);
  // Trailer fields: ours checks their syntax and drops them; Beast applies its field rules to
  // them too (a Transfer-Encoding or Content-Length there is refused, a Connection must be a
  // token list). For a chunked request ours accepted, such an error can only come from there.
  bool chunked = false;
  for (const auto& [name, value] : mine.fields) {
    chunked = chunked || gw::net::iequals(name, "transfer-encoding");
  }
  const bool trailer = chunked && (beast.ec == http::error::bad_transfer_encoding ||
                                   beast.ec == http::error::bad_content_length ||
                                   beast.ec == http::error::multiple_content_length ||
                                   beast.ec == http::error::bad_value);
  GW_FUZZ_CHECK(!beast.ec,
                chunk_ext ? "diff_chunk_ext"
                : trailer ? "diff_trailer_fields"
                          : "diff_beast_rejects",
                "ours accepted a request Beast rejects (" + beast.ec.message() +
                    "): " + printable(input.substr(0, mine.end)));
  if (beast.ec) {
    return 0;
  }
  ParsedMessage theirs = beast.message;
  theirs.end += skipped;
  if (renamed_connection) {
    // Ours, renamed the same way (every such field of the head was renamed for Beast).
    for (auto& [name, value] : mine.fields) {
      if (gw::net::iequals(name, "connection") || gw::net::iequals(name, "proxy-connection")) {
        name[0] = 'X';
      }
    }
    theirs.keep_alive = mine.keep_alive;
  }
  // Beast's container puts a field after the last one of the same name; ours keeps wire order.
  mine.fields = in_beast_order(mine.fields);
  // Compared apart: ours may close where Beast keeps alive (HTTP/1.0 and chunked), never the
  // reverse.
  // With the same head, a chunked request can differ only by its trailer (Beast honours a
  // Connection: close there; ours drops trailer fields).
  GW_FUZZ_CHECK(!mine.keep_alive || theirs.keep_alive,
                chunked ? "diff_trailer_fields" : "diff_keep_alive",
                "ours keeps the connection, Beast closes: " + printable(input.substr(0, mine.end)));
  mine.keep_alive = theirs.keep_alive = false;

  if (theirs.fields.size() > mine.fields.size()) {
    // Beast adds the trailer fields (each after the last field of its name): ours, in Beast's
    // order, must be what is left without them.
    size_t matched = 0;
    for (const auto& field : theirs.fields) {
      if (matched < mine.fields.size() && field == mine.fields[matched]) {
        ++matched;
      }
    }
    if (chunked && matched == mine.fields.size()) {
      theirs.fields = mine.fields;
    }
  }
  mine.content_length = theirs.content_length = std::nullopt;
  GW_FUZZ_CHECK(mine == theirs, "diff_mismatch",
                "both accept, differently:\nours:  " + describe({{mine}, {}, mine.end, false}) +
                    "\nbeast: " + describe({{theirs}, {}, theirs.end, false}) +
                    "\ninput: " + printable(input));
  return 0;
}
