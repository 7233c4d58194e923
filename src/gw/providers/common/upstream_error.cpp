#include <fmt/format.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "gw/core/logging.hpp"
#include "gw/providers/provider.hpp"

namespace gw::providers {
namespace {

std::string string_at(const boost::json::object& object, std::string_view key) {
  if (const auto* v = object.if_contains(key); v != nullptr && v->is_string()) {
    return std::string(v->get_string());
  }
  return {};
}

}  // namespace

core::Error map_upstream_error(std::string_view provider, int status, std::string_view body,
                               std::string_view retry_after) {
  core::Error error;
  boost::system::error_code ec;
  auto json = boost::json::parse(body, ec);
  if (!ec && json.is_object()) {
    const auto& root = json.get_object();
    const boost::json::value* detail = root.if_contains("error");
    if (detail != nullptr && detail->is_object()) {
      const auto& e = detail->get_object();
      error.message = string_at(e, "message");
      error.type = string_at(e, "type");
      error.param = string_at(e, "param");
      error.code = string_at(e, "code");
      if (const auto* code = e.if_contains("code"); code != nullptr && code->is_int64()) {
        error.code = std::to_string(code->get_int64());
      }
    } else if (detail != nullptr && detail->is_string()) {
      error.message = std::string(detail->get_string());  // e.g. Ollama, llama.cpp variants
    } else {
      error.message = string_at(root, "message");
    }
  }
  if (error.message.empty()) {
    // Escaped when the error is written (invalid UTF-8 becomes U+FFFD); cut between characters.
    std::string_view excerpt = core::utf8_prefix(body, 512);
    error.message = excerpt.empty()
                        ? fmt::format("{} returned HTTP {}", provider, status)
                        : fmt::format("{} returned HTTP {}: {}", provider, status, excerpt);
  }
  if (status == 429) {
    error.errc = core::Errc::kRateLimited;
    error.retry_after = std::string(retry_after);
  } else if (status >= 400 && status < 500) {
    error.errc = core::Errc::kUpstreamStatus;
    error.status = status;
    if (error.type.empty()) {
      error.type = status == 401   ? "authentication_error"
                   : status == 403 ? "permission_error"
                   : status == 404 ? "not_found_error"
                                   : "invalid_request_error";
    }
  } else {
    // The client gets 502 whatever the upstream's 5xx: the failure is the upstream's, not ours.
    error.errc = core::Errc::kUpstreamError;
    error.message =
        fmt::format("upstream {} failed with HTTP {}: {}", provider, status, error.message);
    error.type.clear();
    error.code.clear();
    error.param.clear();
  }
  return error;
}

}  // namespace gw::providers
