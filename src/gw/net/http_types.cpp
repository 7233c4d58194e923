#include "gw/net/http_types.hpp"

#include <array>
#include <boost/url/pct_string_view.hpp>
#include <cctype>
#include <charconv>

namespace gw::net {

namespace {

// ASCII only, inline: header names are ASCII, and libc's locale-aware tolower showed up in
// profiles of the request path.
constexpr char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c;
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    // Header names mostly arrive in the case they are looked up in: equal bytes cost one test.
    if (a[i] != b[i] && ascii_lower(a[i]) != ascii_lower(b[i])) {
      return false;
    }
  }
  return true;
}

void append_decimal(std::string& out, uint64_t value) {
  std::array<char, 20> digits;  // NOLINT(cppcoreguidelines-pro-type-member-init): written first
  const auto end = std::to_chars(digits.data(), digits.data() + digits.size(), value).ptr;
  out.append(digits.data(), end);
}

std::string percent_decode(std::string_view text) {
  auto pct = boost::urls::make_pct_string_view(text);
  return pct ? pct->decode() : std::string(text);
}

std::string_view Request::path() const {
  auto q = target.find('?');
  return q == std::string_view::npos ? target : target.substr(0, q);
}

std::string_view Request::header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (iequals(n, name)) {
      return v;
    }
  }
  return {};
}

Response error_response(const core::Error& error) {
  Response response;
  response.status = core::http_status(error);
  response.body = core::error_json(error);
  if (!error.retry_after.empty()) {
    response.headers.push_back({"retry-after", error.retry_after});
  }
  return response;
}

Task<void> respond(ResponseWriter& writer, Response response) {
  co_await writer.send(std::move(response));
}

Task<void> respond_error(ResponseWriter& writer, const core::Error& error) {
  co_await writer.send(error_response(error));
}

Task<void> respond_method_not_allowed(ResponseWriter& writer, const Request& request,
                                      std::string_view allow) {
  auto response = error_response({core::Errc::kMethodNotAllowed,
                                  "Method " + std::string(request.method) + " is not allowed for " +
                                      std::string(request.path()) + "; use " + std::string(allow)});
  response.headers.push_back({"allow", std::string(allow)});
  co_await writer.send(std::move(response));
}

std::string_view stream_outcome(const RequestLog& log, bool client_gone) {
  if (!log.outcome.empty()) {
    return log.outcome;
  }
  return client_gone ? "client_cancelled" : "";
}

}  // namespace gw::net
