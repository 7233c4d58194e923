#include "gw/net/http_types.hpp"

namespace gw::net {

std::string_view Request::path() const {
  auto q = target.find('?');
  return q == std::string_view::npos ? target : target.substr(0, q);
}

std::string_view Request::query() const {
  auto q = target.find('?');
  return q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
}

std::string_view Request::header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (n.size() == name.size() && iequals(n, name)) {  // most differ in length: no call
      return v;
    }
  }
  return {};
}

Response error_response(const core::Error& error, const ErrorFormat& format) {
  Response response;
  response.status = core::http_status(error);
  response.body = format.body(error);
  if (!error.retry_after.empty()) {
    response.headers.push_back({"retry-after", error.retry_after});
  }
  return response;
}

Task<void> respond(ResponseWriter& writer, Response response) {
  co_await writer.send(std::move(response));
}

Task<void> respond_error(ResponseWriter& writer, core::Error error) {
  co_await writer.send(error_response(error, writer.error_format));
}

Task<void> respond_method_not_allowed(ResponseWriter& writer, const Request& request,
                                      std::string_view allow) {
  auto response = error_response({core::Errc::kMethodNotAllowed,
                                  "Method " + std::string(request.method) + " is not allowed for " +
                                      std::string(request.path()) + "; use " + std::string(allow)},
                                 writer.error_format);
  response.headers.push_back({"allow", std::string(allow)});
  co_await writer.send(std::move(response));
}

}  // namespace gw::net
