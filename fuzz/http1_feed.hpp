#pragma once

// Drives gw::net's HTTP/1 parsers the way the server session and the upstream connection do:
// bytes arrive in pieces, unconsumed bytes are presented again with the next piece appended, a
// finished keep-alive message is followed by the next one on the same head storage, and the end
// of the input is the peer closing its end.

#include <boost/beast/http/error.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fuzz_support.hpp"
#include "gw/net/http_types.hpp"
#include "gw/net/message_parser.hpp"

namespace gw::fuzz {

using boost::system::error_code;
namespace http_error = boost::beast::http;

// What one complete message looked like, copied out of the parser's storage.
struct ParsedMessage {
  std::string method;  // requests
  std::string target;
  int status = 0;  // responses
  std::vector<std::pair<std::string, std::string>> fields;
  std::string body;
  bool keep_alive = false;
  std::optional<uint64_t> content_length;
  size_t end = 0;  // bytes of the connection consumed when the message was complete
  bool operator==(const ParsedMessage&) const = default;
};

// How a connection's bytes were read: the messages completed, then what ended the reading.
struct ParseOutcome {
  std::vector<ParsedMessage> messages;
  error_code ec;         // a parse error, end_of_stream or partial_message; empty: clean stop
  size_t consumed = 0;   // bytes taken by the parsers
  bool stopped = false;  // a message without keep-alive ended the connection
  bool operator==(const ParseOutcome&) const = default;
};

// Whether two readings of the same bytes agree. After an error the connection is dropped, so how
// far the parser got into the bad message does not matter (a body over the limit is refused
// before its first byte when it came whole, after some when it came in pieces).
inline bool same_outcome(ParseOutcome a, ParseOutcome b) {
  if (a.ec && a.ec == b.ec) {
    a.consumed = b.consumed = 0;
  }
  return a == b;
}

struct Limits {
  size_t header = 8192;
  std::optional<uint64_t> body;  // requests: 1 MiB by default; responses: none
  size_t window = 8192;          // responses: the body buffer (upstream.cpp uses 8 KiB)
  bool head_request = false;     // responses: the request was HEAD (no body)
};

inline bool is_tchar(char c) {
  const auto u = static_cast<unsigned char>(c);
  return (u >= '0' && u <= '9') || (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

inline bool all_tchar(std::string_view s) {
  for (char c : s) {
    if (!is_tchar(c)) {
      return false;
    }
  }
  return !s.empty();
}

// Properties of any head the parser accepted (request or response).
inline void check_fields(const net::MessageHead& head) {
  size_t content_lengths = 0;
  for (size_t i = 0; i < head.field_count(); ++i) {
    const auto [name, value] = head.field(i);
    GW_FUZZ_CHECK(all_tchar(name), "http1_field_name", "field name " + printable(name));
    bool clean = true;
    for (char c : value) {
      const auto u = static_cast<unsigned char>(c);
      clean = clean && !(u < 0x20 && c != '\t') && u != 0x7f;
    }
    GW_FUZZ_CHECK(clean, "http1_field_value", "field value " + printable(value));
    GW_FUZZ_CHECK(value.empty() || (value.front() != ' ' && value.front() != '\t' &&
                                    value.back() != ' ' && value.back() != '\t'),
                  "http1_field_value_ows", "untrimmed value " + printable(value));
    if (name.size() == 14 && net::iequals(name, "content-length")) {
      ++content_lengths;
    }
  }
  GW_FUZZ_CHECK(content_lengths <= 1, "http1_multiple_content_length",
                "accepted several content-length fields");
}

inline ParsedMessage copy_message(const net::MessageHead& head) {
  ParsedMessage m;
  for (size_t i = 0; i < head.field_count(); ++i) {
    const auto [name, value] = head.field(i);
    m.fields.emplace_back(name, value);
  }
  return m;
}

// The server side: RequestParser over one RequestHead reused across pipelined requests.
inline ParseOutcome parse_requests(const std::vector<std::string_view>& pieces,
                                   const Limits& limits) {
  ParseOutcome out;
  net::RequestHead head;
  std::string buffer;
  size_t next_piece = 0;
  for (int message = 0; message < 16; ++message) {
    net::RequestParser parser(head);
    parser.header_limit(limits.header);
    parser.body_limit(limits.body);
    for (;;) {
      error_code ec;
      if (!buffer.empty()) {
        const size_t used = parser.put(buffer.data(), buffer.size(), ec);
        GW_FUZZ_CHECK(used <= buffer.size(), "http1_used", "consumed more than it was given");
        buffer.erase(0, used);
        out.consumed += used;
      } else {
        ec = http_error::error::need_more;
      }
      if (parser.is_done()) {
        break;
      }
      if (ec && ec != http_error::error::need_more) {
        out.ec = ec;
        return out;
      }
      if (next_piece == pieces.size()) {
        // The client closed its end.
        if (buffer.empty() && !parser.got_some()) {
          return out;  // between messages: a clean close
        }
        parser.put_eof(ec);
        GW_FUZZ_CHECK(ec, "http1_request_eof", "a request completed at end of stream");
        out.ec = ec;
        return out;
      }
      buffer.append(pieces[next_piece++]);
    }
    // A complete request.
    check_fields(head);
    GW_FUZZ_CHECK(all_tchar(head.method()), "http1_method", "method " + printable(head.method()));
    bool target_ok = !head.target().empty();
    for (char c : head.target()) {
      const auto u = static_cast<unsigned char>(c);
      target_ok = target_ok && u > 0x20 && u != 0x7f;
    }
    GW_FUZZ_CHECK(target_ok, "http1_target", "target " + printable(head.target()));
    if (limits.body) {
      GW_FUZZ_CHECK(head.body.size() <= *limits.body, "http1_body_limit",
                    "body of " + std::to_string(head.body.size()) + " bytes over the limit " +
                        std::to_string(*limits.body));
    }
    bool coded = false;
    for (size_t i = 0; i < head.field_count(); ++i) {
      coded = coded || net::iequals(head.field(i).first, "transfer-encoding");
    }
    if (coded) {
      GW_FUZZ_CHECK(!parser.content_length(), "http1_cl_and_te",
                    "a request with both content-length and transfer-encoding was accepted");
    } else {
      GW_FUZZ_CHECK(head.body.size() == parser.content_length().value_or(0), "http1_cl_body",
                    "body of " + std::to_string(head.body.size()) + " bytes, content-length " +
                        std::to_string(parser.content_length().value_or(0)));
    }
    // What handlers do with the target next.
    net::Request request;
    request.target = head.target();
    (void)net::percent_decode(request.path());

    ParsedMessage m = copy_message(head);
    m.method = head.method();
    m.target = head.target();
    m.body = head.body;
    m.keep_alive = parser.keep_alive();
    m.content_length = parser.content_length();
    m.end = out.consumed;
    out.messages.push_back(std::move(m));
    if (!parser.keep_alive()) {
      out.stopped = true;
      return out;
    }
  }
  return out;
}

// The upstream side: ResponseParser writing into a fixed window that the reader empties, over
// one ResponseHead reused across the responses of a pooled connection.
inline ParseOutcome parse_responses(const std::vector<std::string_view>& pieces,
                                    const Limits& limits) {
  ParseOutcome out;
  net::ResponseHead head;
  std::string buffer;
  std::vector<char> window(limits.window);
  size_t next_piece = 0;
  for (int message = 0; message < 16; ++message) {
    net::ResponseParser parser(head);
    parser.header_limit(limits.header);
    if (limits.body) {
      parser.body_limit(limits.body);
    }
    parser.skip(limits.head_request);
    std::string body;
    auto drain = [&] {
      body.append(window.data(), window.size() - parser.body_room());
      parser.set_body_buffer(window.data(), window.size());
    };
    parser.set_body_buffer(window.data(), window.size());
    bool eof = false;
    for (;;) {
      error_code ec;
      if (!buffer.empty()) {
        const size_t used = parser.put(buffer.data(), buffer.size(), ec);
        GW_FUZZ_CHECK(used <= buffer.size(), "http1_used", "consumed more than it was given");
        buffer.erase(0, used);
        out.consumed += used;
      } else {
        ec = http_error::error::need_more;
      }
      drain();
      if (parser.is_done()) {
        break;
      }
      if (ec == http_error::error::need_buffer) {
        continue;  // the window was emptied
      }
      if (ec && ec != http_error::error::need_more) {
        out.ec = ec;
        return out;
      }
      if (next_piece == pieces.size()) {
        if (eof || (buffer.empty() && !parser.got_some())) {
          return out;
        }
        parser.put_eof(ec);
        eof = true;
        if (parser.is_done()) {
          GW_FUZZ_CHECK(!ec, "http1_response_eof", "done with an error at end of stream");
          break;
        }
        GW_FUZZ_CHECK(ec, "http1_response_eof", "not done and no error at end of stream");
        out.ec = ec;
        return out;
      }
      buffer.append(pieces[next_piece++]);
    }
    check_fields(head);
    const int status = head.status();
    GW_FUZZ_CHECK(status >= 0 && status <= 999, "http1_status", std::to_string(status));
    const bool bodiless =
        limits.head_request || (status >= 100 && status < 200) || status == 204 || status == 304;
    if (bodiless) {
      GW_FUZZ_CHECK(body.empty(), "http1_bodiless", "a body on a bodiless response");
    }
    if (parser.content_length() && !bodiless) {
      GW_FUZZ_CHECK(body.size() == *parser.content_length(), "http1_cl_body",
                    "body of " + std::to_string(body.size()) + " bytes, content-length " +
                        std::to_string(*parser.content_length()));
    }
    if (limits.body) {
      GW_FUZZ_CHECK(body.size() <= *limits.body, "http1_body_limit", "response body over limit");
    }
    ParsedMessage m = copy_message(head);
    m.status = status;
    m.body = std::move(body);
    m.keep_alive = parser.keep_alive();
    m.content_length = parser.content_length();
    m.end = out.consumed;
    out.messages.push_back(std::move(m));
    if (!parser.keep_alive() || eof) {
      out.stopped = true;
      return out;
    }
  }
  return out;
}

inline std::string describe(const ParseOutcome& o) {
  std::string s = "ec=" + o.ec.message() + " consumed=" + std::to_string(o.consumed) +
                  " stopped=" + std::to_string(o.stopped) +
                  " messages=" + std::to_string(o.messages.size());
  for (const auto& m : o.messages) {
    s += "\n  [" + printable(m.method) + " " + printable(m.target) + " " +
         std::to_string(m.status) + " body=" + printable(m.body, 80) +
         " ka=" + std::to_string(m.keep_alive) + " fields=" + std::to_string(m.fields.size()) + "]";
    for (const auto& [name, value] : m.fields) {
      s += "\n    " + printable(name, 60) + ": " + printable(value, 120);
    }
  }
  return s;
}

}  // namespace gw::fuzz
