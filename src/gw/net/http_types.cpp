#include "gw/net/http_types.hpp"

#include <cctype>

namespace gw::net {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
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

}  // namespace gw::net
