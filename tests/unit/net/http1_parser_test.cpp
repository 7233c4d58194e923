#include "gw/net/http1_parser.hpp"

#include <gtest/gtest.h>

#include <boost/beast/http/error.hpp>
#include <string>
#include <string_view>

#include "gw/net/message_parser.hpp"

namespace gw::net {
namespace {

using boost::beast::http::error;
using boost::system::error_code;

struct Fed {
  error_code ec;  // the first error other than need_buffer; need_more if the message is unfinished
  std::string rest;  // bytes not consumed (pipelined, or after an error)
};

// Feeds `wire` to `parser` `step` bytes at a time, as a connection's buffer does: unconsumed
// bytes are presented again with the next ones appended. `drain` empties a full body window.
template <class Drain>
Fed feed(Http1Parser& parser, std::string_view wire, size_t step, Drain&& drain) {
  std::string buffer;
  size_t next = 0;
  for (;;) {
    error_code ec;
    const size_t used = parser.put(buffer.data(), buffer.size(), ec);
    buffer.erase(0, used);
    if (ec == error::need_buffer) {
      drain();
      continue;
    }
    if (ec && ec != error::need_more) {
      return {ec, buffer};
    }
    if (parser.is_done()) {
      return {{}, buffer + std::string(wire.substr(next))};
    }
    if (next == wire.size()) {
      return {error::need_more, buffer};  // the message needs more than there is
    }
    const size_t n = std::min(step, wire.size() - next);
    buffer.append(wire.substr(next, n));
    next += n;
  }
}

Fed feed(Http1Parser& parser, std::string_view wire, size_t step = 1 << 20) {
  return feed(parser, wire, step, [] {});
}

// A request parsed whole and byte by byte must come out the same.
class RequestParse : public testing::TestWithParam<size_t> {};

TEST_P(RequestParse, FieldsAndContentLengthBody) {
  RequestHead head;
  RequestParser parser(head);
  const auto fed = feed(parser,
                        "POST /v1/chat/completions?x=1 HTTP/1.1\r\n"
                        "Host: example.com\r\n"
                        "Content-Type:application/json \t\r\n"
                        "X-Empty:\r\n"
                        "Content-Length: 11\r\n\r\n"
                        "hello worldGET / HTTP/1.1\r\nHost: h\r\n",
                        GetParam());
  ASSERT_FALSE(fed.ec) << fed.ec.message();
  ASSERT_TRUE(parser.is_done());
  EXPECT_EQ(fed.rest,
            "GET / HTTP/1.1\r\nHost: h\r\n");  // the next request is left for its own parser
  EXPECT_EQ(head.method(), "POST");
  EXPECT_EQ(head.target(), "/v1/chat/completions?x=1");
  ASSERT_EQ(head.field_count(), 4u);
  EXPECT_EQ(head.field(0).first, "Host");
  EXPECT_EQ(head.field(1).second, "application/json");  // whitespace around the value trimmed
  EXPECT_EQ(head.field(2).second, "");
  EXPECT_EQ(head.find("content-TYPE"), "application/json");
  EXPECT_EQ(head.find("absent"), "");
  EXPECT_EQ(head.body, "hello world");
  EXPECT_EQ(parser.content_length(), 11u);
  EXPECT_TRUE(parser.keep_alive());
}

TEST_P(RequestParse, ChunkedBodyWithExtensionsAndTrailer) {
  RequestHead head;
  RequestParser parser(head);
  const auto fed = feed(parser,
                        "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "5\r\nhello\r\n"
                        "6 ; name=value;flag ;q = \"a \\\" b\"\r\n world\r\n"
                        "00A\r\n0123456789\r\n"
                        "0\r\nX-Checksum: abc\r\n\r\n",
                        GetParam());
  ASSERT_FALSE(fed.ec) << fed.ec.message();
  ASSERT_TRUE(parser.is_done());
  EXPECT_EQ(head.body, "hello world0123456789");
  EXPECT_EQ(head.field_count(), 2u);  // Host and Transfer-Encoding: the trailer is not kept
  EXPECT_EQ(fed.rest, "");
}

INSTANTIATE_TEST_SUITE_P(WholeAndByteByByte, RequestParse, testing::Values(1 << 20, 1, 7));

TEST(RequestParser, ABodylessRequestIsDoneAtItsHead) {
  RequestHead head;
  RequestParser parser(head);
  ASSERT_FALSE(feed(parser, "GET / HTTP/1.1\r\nHost: h\r\n\r\n").ec);
  EXPECT_TRUE(parser.is_done());
  EXPECT_EQ(head.body, "");
}

TEST(RequestParser, ANewParserForgetsThePreviousRequestLine) {
  // The session reads the next request of a connection into the same head; a large head's text is
  // released, and nothing may still point into it (found reading the target of a failed read).
  RequestHead head;
  {
    RequestParser first(head);
    first.header_limit(1 << 20);
    const std::string wire = "GET /v1/" + std::string(5000, 'a') + " HTTP/1.1\r\nHost: h\r\n" +
                             "X-Big: " + std::string(10000, 'b') + "\r\n\r\n";
    ASSERT_FALSE(feed(first, wire).ec);
    EXPECT_EQ(head.target().size(), 5004u);
  }
  RequestParser next(head);
  EXPECT_EQ(head.method(), "");
  EXPECT_EQ(head.target(), "");
}

TEST(RequestParser, EmptyLinesBeforeTheRequestLineAreIgnored) {
  for (size_t step : {size_t{1} << 20, size_t{1}, size_t{3}}) {
    RequestHead head;
    RequestParser parser(head);
    ASSERT_FALSE(feed(parser, "\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", step).ec) << step;
    EXPECT_EQ(head.method(), "GET");
  }
}

TEST(RequestParser, KeepAliveFollowsTheVersionAndConnectionTokens) {
  struct Case {
    std::string_view wire;
    bool keep_alive;
  };
  for (const auto& c : {
           Case{"GET / HTTP/1.1\r\nHost: h\r\n\r\n", true},
           Case{"GET / HTTP/1.1\r\nHost: h\r\nConnection: upgrade, Close\r\n\r\n", false},
           Case{"GET / HTTP/1.0\r\n\r\n", false},            // HTTP/1.0 needs no Host
           Case{"GET / HTTP/1.2\r\nHost: h\r\n\r\n", true},  // a later 1.x is served as 1.1
           // HTTP/1.0 has no transfer codings: such a message ends its connection.
           Case{"POST / HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n"
                "0\r\n\r\n",
                false},
       }) {
    RequestHead head;
    RequestParser parser(head);
    ASSERT_FALSE(feed(parser, c.wire).ec) << c.wire;
    ASSERT_TRUE(parser.is_done()) << c.wire;
    EXPECT_EQ(parser.keep_alive(), c.keep_alive) << c.wire;
  }
}

// What request smuggling and sloppy clients send: each is refused, never guessed at.
TEST(RequestParser, RefusesAmbiguousOrMalformedMessages) {
  struct Case {
    std::string_view wire;
    error expected;
  };
  for (const auto& c : {
           Case{"GET / HTTP/1.1\nHost: a\n\n", error::bad_line_ending},
           // HTTP/1.1 needs exactly one Host (RFC 9112 §3.2).
           Case{"GET / HTTP/1.1\r\n\r\n", error::bad_field},
           Case{"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", error::bad_field},
           // "chunked" takes no parameters: with one it is another coding, which is refused.
           Case{"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked;q=1\r\n\r\n",
                error::bad_transfer_encoding},
           Case{"GET / HTTP/1.1\r\nHost: a\n\r\n", error::bad_line_ending},
           Case{"GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n", error::bad_line_ending},
           Case{"GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n folded\r\n\r\n", error::bad_field},
           Case{"GET / HTTP/1.1\r\nHost : a\r\n\r\n", error::bad_field},
           Case{"GET / HTTP/1.1\r\nHost: h\r\n: a\r\n\r\n", error::bad_field},
           Case{"GET / HTTP/1.1\r\nHost: h\r\nX: a\x01z\r\n\r\n", error::bad_value},
           Case{"GET /a b HTTP/1.1\r\n\r\n", error::bad_version},
           Case{"GET  / HTTP/1.1\r\n\r\n", error::bad_target},
           Case{"G(T / HTTP/1.1\r\n\r\n", error::bad_method},
           Case{"GET / HTTP/2.0\r\n\r\n", error::bad_version},
           Case{"GET / http/1.1\r\n\r\n", error::bad_version},
           Case{"GET / HTTP/1.1 \r\n\r\n", error::bad_line_ending},
           Case{"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
                error::multiple_content_length},
           Case{"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +1\r\n\r\nx",
                error::bad_content_length},
           Case{"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1, 1\r\n\r\nx",
                error::bad_content_length},
           Case{"POST / HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n\r\n", error::bad_content_length},
           Case{"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999\r\n\r\n",
                error::bad_content_length},
           Case{"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: "
                "chunked\r\n\r\n"
                "0\r\n\r\n",
                error::bad_transfer_encoding},
           Case{"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
                error::bad_transfer_encoding},
           Case{"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: "
                "chunked\r\n"
                "\r\n0\r\n\r\n",
                error::bad_transfer_encoding},
           Case{"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, "
                "identity\r\n\r\n0\r\n\r\n",
                error::bad_transfer_encoding},
           Case{"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n",
                error::bad_transfer_encoding},
           // An empty Transfer-Encoding beside a chunked one (the fuzzer's
           // http1_differential/crash-empty-transfer-encoding).
           Case{"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: "
                "\r\n\r\n0\r\n\r\n",
                error::bad_transfer_encoding},
           Case{"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: ,\r\n\r\n0\r\n\r\n",
                error::bad_transfer_encoding},
           Case{"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                error::bad_chunk},
           Case{"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n",
                error::bad_chunk},
           Case{"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n",
                error::bad_chunk},
           Case{"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1x\r\n",
                error::bad_chunk_extension},
           // Chunk extensions outside RFC 9112's grammar (the fuzzer's
           // http1_differential/crash-chunk-ext-unterminated-quote and its kin).
           Case{"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1;a=\"x\r\n",
                error::bad_chunk_extension},
           Case{"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1;\r\n",
                error::bad_chunk_extension},
           Case{"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1;=x\r\n",
                error::bad_chunk_extension},
           Case{"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1;a=\x80\r\n",
                error::bad_chunk_extension},
           Case{"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1;a=b \r\n",
                error::bad_chunk_extension},
           Case{"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1;a=b c\r\n",
                error::bad_chunk_extension},
           Case{"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1\n",
                error::bad_line_ending},
           Case{"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: "
                "chunked\r\n\r\n10000000000000000\r\n",
                error::bad_chunk},
           Case{"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nbad "
                "trailer\r\n\r\n",
                error::bad_field},
           // Framing fields in the trailer (the fuzzer's crash-framing-fields-in-trailer).
           Case{"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"
                "Content-Length: 5\r\n\r\n",
                error::bad_field},
           Case{"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"
                "transfer-encoding: chunked\r\n\r\n",
                error::bad_field},
           Case{"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"
                "Connection: close\r\n\r\n",
                error::bad_field},
       }) {
    for (size_t step : {size_t{1} << 20, size_t{1}}) {
      RequestHead head;
      RequestParser parser(head);
      EXPECT_EQ(feed(parser, c.wire, step).ec, c.expected) << c.wire << " step " << step;
    }
  }
}

// Values are scanned sixteen bytes at a time: a bad byte is found wherever it sits in a block,
// and obs-text (bytes 0x80-0xff) is accepted.
TEST(RequestParser, ChecksEveryByteOfLongValues) {
  const std::string long_value(40, 'v');
  for (size_t at = 0; at < long_value.size(); ++at) {
    for (char bad : {'\x00', '\x01', '\x1f', '\x7f', '\n'}) {
      std::string value = long_value;
      value[at] = bad;
      RequestHead head;
      RequestParser parser(head);
      const auto ec = feed(parser, "GET / HTTP/1.1\r\nHost: h\r\nX-Long: " + value + "\r\n\r\n").ec;
      EXPECT_TRUE(ec) << "byte " << int(bad) << " at " << at;
    }
  }
  RequestHead head;
  RequestParser parser(head);
  const std::string text = "caf\xc3\xa9 \t" + long_value + "\xff";
  ASSERT_FALSE(feed(parser, "GET / HTTP/1.1\r\nHost: h\r\nX-Text: " + text + "\r\n\r\n").ec);
  EXPECT_EQ(head.find("x-text"), text);
}

TEST(RequestParser, EnforcesTheHeadAndBodyLimits) {
  auto parse = [](std::string_view wire, size_t header_limit, uint64_t body_limit) {
    RequestHead head;
    RequestParser parser(head);
    parser.header_limit(header_limit);
    parser.body_limit(body_limit);
    return feed(parser, wire).ec;
  };
  const std::string head =
      "POST / HTTP/1.1\r\nHost: h\r\nX-Long: " + std::string(100, 'a') + "\r\n";
  EXPECT_FALSE(parse(head + "\r\n", 200, 10));
  EXPECT_EQ(parse(head + "\r\n", 100, 10), error::header_limit);  // whole but too long
  EXPECT_EQ(parse(head, 100, 10), error::header_limit);           // too long before its end
  EXPECT_EQ(parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n", 200, 10),
            error::body_limit);
  EXPECT_FALSE(
      parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789", 200, 10));
  EXPECT_EQ(
      parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n01234567\r\n"
            "3\r\nabc\r\n0\r\n\r\n",
            200, 10),
      error::body_limit);
  // A chunk size that would wrap the running total around is still over the limit.
  EXPECT_EQ(parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n"
                  "FFFFFFFFFFFFFFFF\r\n",
                  200, 10),
            error::body_limit);
  EXPECT_EQ(
      parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nX: " +
                std::string(300, 'b') + "\r\n\r\n",
            200, 10),
      error::header_limit);  // the trailer section has the head's limit too
}

TEST(RequestParser, EndOfStreamBeforeAndDuringAMessage) {
  {
    RequestHead head;
    RequestParser parser(head);
    error_code ec;
    parser.put_eof(ec);
    EXPECT_EQ(ec, error::end_of_stream);
  }
  {
    RequestHead head;
    RequestParser parser(head);
    ASSERT_EQ(feed(parser, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nab").ec,
              error::need_more);
    ASSERT_TRUE(parser.is_header_done());
    error_code ec;
    parser.put_eof(ec);
    EXPECT_EQ(ec, error::partial_message);
  }
}

// A response body goes into a small window: need_buffer stops the parser until it is emptied,
// and nothing is lost or reordered across the stops.
class ResponseParse : public testing::TestWithParam<size_t> {
 protected:
  Fed parse(std::string_view wire) {
    parser_.set_body_buffer(window_, sizeof window_);
    return feed(parser_, wire, GetParam(), [this] { drain(); });
  }
  std::string body() {
    drain();
    return body_;
  }
  void drain() {
    body_.append(window_, sizeof window_ - parser_.body_room());
    parser_.set_body_buffer(window_, sizeof window_);
  }

  ResponseHead head_;
  ResponseParser parser_{head_};
  char window_[3] = {};
  std::string body_;
};

TEST_P(ResponseParse, ContentLengthBodyThroughASmallWindow) {
  const auto fed = parse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789");
  ASSERT_FALSE(fed.ec) << fed.ec.message();
  EXPECT_EQ(head_.status(), 200);
  EXPECT_EQ(body(), "0123456789");
  EXPECT_TRUE(parser_.keep_alive());
}

TEST_P(ResponseParse, ChunkedBodyThroughASmallWindow) {
  const auto fed = parse(
      "HTTP/1.1 201 Created\r\ntransfer-encoding: chunked\r\n\r\n4\r\ndata\r\n"
      "7\r\n: hello\r\n0\r\n\r\n");
  ASSERT_FALSE(fed.ec) << fed.ec.message();
  EXPECT_TRUE(parser_.is_done());
  EXPECT_EQ(head_.status(), 201);
  EXPECT_EQ(body(), "data: hello");
}

TEST_P(ResponseParse, AnUnframedBodyEndsAtTheClose) {
  ASSERT_EQ(parse("HTTP/1.0 200 OK\r\n\r\nall of it").ec, error::need_more);
  EXPECT_FALSE(parser_.is_done());
  error_code ec;
  parser_.put_eof(ec);
  EXPECT_FALSE(ec);
  EXPECT_TRUE(parser_.is_done());
  EXPECT_FALSE(parser_.keep_alive());
  EXPECT_EQ(body(), "all of it");
}

INSTANTIATE_TEST_SUITE_P(WholeAndByteByByte, ResponseParse, testing::Values(1 << 20, 1, 5));

TEST(ResponseParser, StatusesWithoutABodyIgnoreTheirFraming) {
  for (std::string_view wire : {"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n",
                                "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n",
                                "HTTP/1.1 100 Continue\r\n\r\n", "HTTP/1.1 200\r\n\r\n"}) {
    ResponseHead head;
    ResponseParser parser(head);
    parser.skip(wire.find("200") != std::string_view::npos);  // a response to HEAD
    const auto fed = feed(parser, std::string(wire) + "HTTP/1.1 200 OK\r\n");
    ASSERT_FALSE(fed.ec) << wire;
    EXPECT_TRUE(parser.is_done()) << wire;
    EXPECT_EQ(fed.rest, "HTTP/1.1 200 OK\r\n") << wire;
  }
}

TEST(ResponseParser, TransferEncodingOverridesContentLengthAndEndsTheConnection) {
  ResponseHead head;
  ResponseParser parser(head);
  char window[64];
  parser.set_body_buffer(window, sizeof window);
  const auto fed = feed(parser,
                        "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n"
                        "\r\n2\r\nok\r\n0\r\n\r\n");
  ASSERT_FALSE(fed.ec);
  EXPECT_TRUE(parser.is_done());
  EXPECT_EQ(std::string_view(window, sizeof window - parser.body_room()), "ok");
  EXPECT_FALSE(parser.content_length());
  EXPECT_FALSE(parser.keep_alive());
}

TEST(ResponseParser, RefusesMalformedStatusLines) {
  for (std::string_view wire :
       {"HTTP/1.1 20 OK\r\n\r\n", "HTTP/1.1 2000 OK\r\n\r\n", "HTTP/1.1 200 O\x01K\r\n\r\n",
        "HTTP/3 200 OK\r\n\r\n", "ICY 200 OK\r\n\r\n"}) {
    ResponseHead head;
    ResponseParser parser(head);
    EXPECT_TRUE(feed(parser, wire).ec) << wire;
  }
}

}  // namespace
}  // namespace gw::net
