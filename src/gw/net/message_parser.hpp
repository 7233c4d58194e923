#pragma once

// Private to net/: HTTP/1 parsers for the server's requests and the upstreams' responses.
//
// Beast's request_parser/response_parser store every header field in a heap node of its own (an
// allocation and a free per field: about 5% of a proxied request's instructions on each side).
// These keep the start line and the fields back to back in one string that the connection
// reuses from message to message; Beast's basic_parser still does the parsing and the limits.

#include <algorithm>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gw::net {

// The header fields of one message, valid until the next message starts on the same storage.
// Trailer fields (after a chunked body) are not kept: nothing uses them, and adding them could
// move the storage under views already handed out.
class MessageHead {
 public:
  size_t field_count() const { return fields_.size(); }
  std::pair<std::string_view, std::string_view> field(size_t i) const {
    return {view(fields_[i].first), view(fields_[i].second)};
  }
  // The first field named `name` (case-insensitive); empty when absent.
  std::string_view find(std::string_view name) const {
    for (const auto& [n, v] : fields_) {
      if (boost::beast::iequals(view(n), name)) {
        return view(v);
      }
    }
    return {};
  }

 protected:
  struct Span {
    uint32_t offset = 0;
    uint32_t size = 0;
  };
  std::string_view view(Span s) const { return {text_.data() + s.offset, s.size}; }
  Span keep(std::string_view s) {
    Span span{static_cast<uint32_t>(text_.size()), static_cast<uint32_t>(s.size())};
    text_.append(s.data(), s.size());
    return span;
  }
  size_t add_field(std::string_view name, std::string_view value) {
    fields_.emplace_back(keep(name), keep(value));
    return fields_.size() - 1;
  }
  void clear_fields() {
    // An unusually large head is not kept for the rest of the connection.
    constexpr size_t kKeptText = 8192;
    constexpr size_t kKeptFields = 64;
    if (text_.capacity() > kKeptText) {
      std::string().swap(text_);
    }
    if (fields_.capacity() > kKeptFields) {
      std::vector<std::pair<Span, Span>>().swap(fields_);
    }
    text_.clear();
    fields_.clear();
  }

 private:
  std::string text_;
  std::vector<std::pair<Span, Span>> fields_;
};

inline std::string_view std_view(boost::beast::string_view s) {
  return {s.data(), s.size()};
}

// One connection's request storage, reused by each request's parser.
class RequestHead : public MessageHead {
 public:
  std::string_view method() const { return view(method_); }
  boost::beast::http::verb verb() const { return verb_; }
  std::string_view target() const { return view(target_); }
  // Empty when absent.
  std::string_view expect() const { return expect_ ? field(*expect_).second : ""; }
  std::string_view request_id() const { return request_id_ ? field(*request_id_).second : ""; }
  std::string body;  // the handler takes it

 private:
  friend class RequestParser;
  void clear() {
    clear_fields();
    body.clear();
    expect_.reset();
    request_id_.reset();
    verb_ = boost::beast::http::verb::unknown;
  }

  Span method_;
  Span target_;
  boost::beast::http::verb verb_ = boost::beast::http::verb::unknown;
  std::optional<size_t> expect_;
  std::optional<size_t> request_id_;
};

class RequestParser : public boost::beast::http::basic_parser<true> {
 public:
  explicit RequestParser(RequestHead& head) : head_(head) { head_.clear(); }

 private:
  using error_code = boost::system::error_code;
  using string_view = boost::beast::string_view;

  void on_request_impl(boost::beast::http::verb method, string_view method_str, string_view target,
                       int /*version*/, error_code& /*ec*/) override {
    head_.verb_ = method;
    head_.method_ = head_.keep(std_view(method_str));
    head_.target_ = head_.keep(std_view(target));
  }
  void on_response_impl(int /*code*/, string_view /*reason*/, int /*version*/,
                        error_code& ec) override {
    ec = boost::beast::http::error::bad_version;  // never called for requests
  }
  void on_field_impl(boost::beast::http::field name, string_view name_string, string_view value,
                     error_code& /*ec*/) override {
    if (is_header_done()) {
      return;  // a trailer
    }
    const size_t index = head_.add_field(std_view(name_string), std_view(value));
    if (name == boost::beast::http::field::expect) {
      head_.expect_ = index;
    } else if (name == boost::beast::http::field::unknown && !head_.request_id_ &&
               boost::beast::iequals(name_string, "x-request-id")) {
      head_.request_id_ = index;
    }
  }
  void on_header_impl(error_code& /*ec*/) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>& content_length,
                         error_code& /*ec*/) override {
    if (content_length) {  // within the body limit: the base parser checked it
      head_.body.reserve(static_cast<size_t>(*content_length));
    }
  }
  size_t on_body_impl(string_view body, error_code& /*ec*/) override {
    head_.body.append(body.data(), body.size());
    return body.size();
  }
  void on_chunk_header_impl(std::uint64_t /*size*/, string_view /*extensions*/,
                            error_code& /*ec*/) override {}
  size_t on_chunk_body_impl(std::uint64_t /*remain*/, string_view body, error_code& ec) override {
    return on_body_impl(body, ec);
  }
  void on_finish_impl(error_code& /*ec*/) override {}

  RequestHead& head_;
};

// One upstream connection's response storage, reused by each response's parser.
class ResponseHead : public MessageHead {
 public:
  int status() const { return status_; }

 private:
  friend class ResponseParser;
  void clear() {
    clear_fields();
    status_ = 0;
  }
  int status_ = 0;
};

// Writes the (de-chunked) body into the buffer it is given, as Beast's buffer_body does: when the
// buffer is full, parsing stops with need_buffer until it is given room again.
class ResponseParser : public boost::beast::http::basic_parser<false> {
 public:
  explicit ResponseParser(ResponseHead& head) : head_(head) { head_.clear(); }

  const ResponseHead& head() const { return head_; }
  void set_body_buffer(char* data, size_t size) {
    body_data_ = data;
    body_room_ = size;
  }
  size_t body_room() const { return body_room_; }

 private:
  using error_code = boost::system::error_code;
  using string_view = boost::beast::string_view;

  void on_request_impl(boost::beast::http::verb /*method*/, string_view /*method_str*/,
                       string_view /*target*/, int /*version*/, error_code& ec) override {
    ec = boost::beast::http::error::bad_version;  // never called for responses
  }
  void on_response_impl(int code, string_view /*reason*/, int /*version*/,
                        error_code& /*ec*/) override {
    head_.status_ = code;
  }
  void on_field_impl(boost::beast::http::field /*name*/, string_view name_string, string_view value,
                     error_code& /*ec*/) override {
    if (!is_header_done()) {  // trailers are dropped
      head_.add_field(std_view(name_string), std_view(value));
    }
  }
  void on_header_impl(error_code& /*ec*/) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>& /*content_length*/,
                         error_code& /*ec*/) override {}
  size_t on_body_impl(string_view body, error_code& ec) override {
    const size_t n = std::min(body.size(), body_room_);
    if (n > 0) {
      std::memcpy(body_data_, body.data(), n);
      body_data_ += n;
      body_room_ -= n;
    }
    if (n < body.size()) {
      ec = boost::beast::http::error::need_buffer;
    }
    return n;
  }
  void on_chunk_header_impl(std::uint64_t /*size*/, string_view /*extensions*/,
                            error_code& /*ec*/) override {}
  size_t on_chunk_body_impl(std::uint64_t /*remain*/, string_view body, error_code& ec) override {
    return on_body_impl(body, ec);
  }
  void on_finish_impl(error_code& /*ec*/) override {}

  ResponseHead& head_;
  char* body_data_ = nullptr;
  size_t body_room_ = 0;
};

}  // namespace gw::net
