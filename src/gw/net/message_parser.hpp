#pragma once

// Private to net/: the server's request parser and the upstreams' response parser, over
// Http1Parser, each with the head storage its connection reuses from message to message.

#include <string>
#include <string_view>

#include "gw/net/http1_parser.hpp"

namespace gw::net {

class RequestHead : public MessageHead {
 public:
  std::string_view method() const { return view(method_); }
  std::string_view target() const { return view(target_); }
  std::string body;  // the handler takes it
};

class RequestParser : public Http1Parser {
 public:
  explicit RequestParser(RequestHead& head) : Http1Parser(true, head) {
    head.body.clear();
    body_string_ = &head.body;
  }
  const RequestHead& head() const { return static_cast<const RequestHead&>(head_); }
};

class ResponseHead : public MessageHead {
 public:
  int status() const { return status_; }
};

// Writes the (de-chunked) body into the buffer it is given, as Beast's buffer_body does: when the
// buffer is full, parsing stops with need_buffer until it is given room again.
class ResponseParser : public Http1Parser {
 public:
  explicit ResponseParser(ResponseHead& head) : Http1Parser(false, head) {}

  const ResponseHead& head() const { return static_cast<const ResponseHead&>(head_); }
  void skip(bool no_body) { skip_body_ = no_body; }
  void set_body_buffer(char* data, size_t size) {
    body_data_ = data;
    body_room_ = size;
  }
  size_t body_room() const { return body_room_; }
};

}  // namespace gw::net
