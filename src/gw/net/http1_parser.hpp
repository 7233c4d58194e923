#pragma once

// HTTP/1.x message framing (RFC 9112) for the server's requests and the upstreams' responses.
//
// Beast's basic_parser cost about 15% of a proxied request's instructions (≈500 per header
// field: a callback, a field-name hash and a token-list pass per field). This one keeps the head
// as received, in one string reused from message to message, and records where each field's name
// and value are; only the framing headers (content-length, transfer-encoding, connection) are
// interpreted. It is strict where leniency would let two parsers disagree about where a message
// ends (request smuggling): CRLF line endings only, no obs-fold, no whitespace before a colon, one
// content-length of digits only, no request with both content-length and transfer-encoding, and
// chunked as a request's only transfer coding.
//
// Errors and the two "give me more" conditions are Beast's http::error codes, so callers read
// them as they read Beast's.

#include <boost/system/error_code.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gw::net {

// The header fields of one message, valid until the next message starts on the same storage.
// Trailer fields (after a chunked body) are checked and dropped: nothing uses them.
class MessageHead {
 public:
  size_t field_count() const { return fields_.size(); }
  std::pair<std::string_view, std::string_view> field(size_t i) const {
    return {view(fields_[i].first), view(fields_[i].second)};
  }
  // The first field named `name` (case-insensitive); empty when absent.
  std::string_view find(std::string_view name) const;

 protected:
  struct Span {
    uint32_t offset = 0;
    uint32_t size = 0;
  };
  std::string_view view(Span s) const { return {text_.data() + s.offset, s.size}; }

 private:
  friend class Http1Parser;
  void clear();

  std::string text_;  // the head as received, then NUL padding for the parser's wide scans
  std::vector<std::pair<Span, Span>> fields_;

 protected:
  Span method_;  // requests
  Span target_;
  int status_ = 0;  // responses
};

class Http1Parser {
 public:
  using error_code = boost::system::error_code;

  // Limits the head (start line and fields, and again the trailer section) to `bytes`.
  void header_limit(size_t bytes) { header_limit_ = bytes; }
  // Limits the body; by default a request's is limited to 1 MiB and a response's is not.
  void body_limit(std::optional<uint64_t> bytes) { body_limit_ = bytes; }

  // Parses what it can of `data`; returns how many bytes it consumed (a head only once all of it
  // has arrived: present the unconsumed rest again with more appended). `ec` is need_more when
  // the message needs more input, need_buffer when the body buffer is full, or a parse error.
  size_t put(const char* data, size_t size, error_code& ec);
  // The peer closed its end: completes a body delimited by the close, else an error
  // (end_of_stream before any byte, partial_message after some).
  void put_eof(error_code& ec);

  bool got_some() const { return got_some_; }
  // HTTP/1.1 or later (else 1.0): a 1.0 peer understands no chunked coding.
  bool http11() const { return http11_; }
  bool is_header_done() const { return state_ > State::kHead; }
  bool is_done() const { return state_ == State::kDone; }
  // Whether the connection may carry another message after this one.
  bool keep_alive() const;
  std::optional<uint64_t> content_length() const { return content_length_; }

 protected:
  Http1Parser(bool request, MessageHead& head);

  // Where the body goes: appended to a string, or copied into a window the caller provides.
  std::string* body_string_ = nullptr;
  char* body_data_ = nullptr;
  size_t body_room_ = 0;
  bool skip_body_ = false;  // a response to HEAD

  MessageHead& head_;

 private:
  enum class State : uint8_t {
    kHead,
    kLength,
    kUntilEof,
    kChunkSize,
    kChunkData,
    kChunkEnd,
    kTrailer,
    kDone
  };

  size_t parse_head(const char* data, size_t size, error_code& ec);
  bool parse_start_line(const char*& p, error_code& ec);
  bool parse_request_line(const char*& p, error_code& ec);
  bool parse_status_line(const char*& p, error_code& ec);
  // "HTTP/1.x" at `v` (sets http11_): a minor version above 1 is served as 1.1 (RFC 9110 §2.5).
  bool read_version(const char* v);
  // [begin, end) of the head's text.
  MessageHead::Span span_of(const char* begin, const char* end) const;
  bool parse_field(const char*& p, error_code& ec);
  // The framing fields content-length and transfer-encoding, noted as read.
  bool note_content_length(std::string_view value, error_code& ec);
  bool note_transfer_encoding(std::string_view value, error_code& ec);
  bool frame_body(error_code& ec);
  size_t parse_body(const char* data, size_t size, error_code& ec);
  size_t parse_chunk_end(const char* data, size_t size, error_code& ec);
  size_t parse_chunk_size(const char* data, size_t size, error_code& ec);
  size_t parse_trailer(const char* data, size_t size, error_code& ec);
  size_t deliver(const char* data, size_t size);

  bool request_;
  State state_ = State::kHead;
  bool got_some_ = false;
  bool http11_ = false;
  bool close_ = false;       // connection: close
  bool keep_alive_ = false;  // connection: keep-alive
  bool chunked_ = false;     // transfer-encoding ends with chunked
  bool coded_ = false;       // transfer-encoding present
  bool need_eof_ = false;    // the connection is not reused after this message
  size_t head_scanned_ = 0;  // bytes searched for the head's end so far
  size_t skipped_ = 0;       // empty lines before a request line
  size_t trailer_bytes_ = 0;
  size_t hosts_ = 0;  // Host fields in a request's head
  static constexpr uint64_t kReservedBody = 64u << 10;
  size_t header_limit_ = 8192;
  std::optional<uint64_t> body_limit_;
  std::optional<uint64_t> content_length_;
  uint64_t remain_ = 0;     // of the body (content-length) or of the current chunk
  uint64_t body_size_ = 0;  // de-chunked bytes so far
};

}  // namespace gw::net
