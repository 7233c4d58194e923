#pragma once

// Private to net/: the server's HTTP/1 request parser.
//
// Beast's request_parser<string_body> stores every header field in a node of its own (an
// allocation and a free per field, with a hash of its name: about 5% of a proxied request's
// instructions). This one keeps the request line and the fields back to back in one string that
// the connection reuses from request to request, and the body in a string the handler takes.

#include <boost/beast/http/basic_parser.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gw::net {

// One connection's request storage, reused by each request's parser.
class RequestHead {
 public:
  std::string_view method() const { return view(method_); }
  boost::beast::http::verb verb() const { return verb_; }
  std::string_view target() const { return view(target_); }
  // Empty when absent.
  std::string_view expect() const { return expect_ ? view(fields_[*expect_].second) : ""; }
  std::string_view request_id() const {
    return request_id_ ? view(fields_[*request_id_].second) : "";
  }
  size_t field_count() const { return fields_.size(); }
  // Valid until the next request starts on the connection.
  std::pair<std::string_view, std::string_view> field(size_t i) const {
    return {view(fields_[i].first), view(fields_[i].second)};
  }
  std::string body;

 private:
  friend class RequestParser;
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
  void clear() {
    text_.clear();
    fields_.clear();
    body.clear();
    expect_.reset();
    request_id_.reset();
    verb_ = boost::beast::http::verb::unknown;
  }

  std::string text_;
  std::vector<std::pair<Span, Span>> fields_;
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

  static std::string_view std_view(string_view s) { return {s.data(), s.size()}; }

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
    if (name == boost::beast::http::field::expect) {
      head_.expect_ = head_.fields_.size();
    } else if (name == boost::beast::http::field::unknown && !head_.request_id_ &&
               boost::beast::iequals(name_string, "x-request-id")) {
      head_.request_id_ = head_.fields_.size();
    }
    head_.fields_.emplace_back(head_.keep(std_view(name_string)), head_.keep(std_view(value)));
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

}  // namespace gw::net
