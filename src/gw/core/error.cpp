#include "gw/core/error.hpp"

#include <algorithm>
#include <array>

namespace gw::core {
namespace {

struct Row {
  Errc errc;
  int status;
  std::string_view type;
  std::string_view code;
};

// Types and codes follow what OpenAI itself returns, so SDKs classify our errors as theirs.
constexpr std::array kTable{
    Row{Errc::kInvalidRequest, 400, "invalid_request_error", ""},
    Row{Errc::kUnauthorized, 401, "invalid_request_error", "invalid_api_key"},
    Row{Errc::kForbidden, 403, "permission_error", ""},
    Row{Errc::kNotFound, 404, "invalid_request_error", "unknown_url"},
    Row{Errc::kModelNotFound, 404, "invalid_request_error", "model_not_found"},
    Row{Errc::kMethodNotAllowed, 405, "invalid_request_error", "method_not_allowed"},
    Row{Errc::kConflict, 409, "invalid_request_error", "conflict"},
    Row{Errc::kRequestTimeout, 408, "invalid_request_error", "request_timeout"},
    Row{Errc::kPayloadTooLarge, 413, "invalid_request_error", "request_too_large"},
    Row{Errc::kHeadersTooLarge, 431, "invalid_request_error", "headers_too_large"},
    Row{Errc::kRateLimited, 429, "rate_limit_error", "rate_limit_exceeded"},
    Row{Errc::kInternal, 500, "server_error", "internal_error"},
    Row{Errc::kUpstreamError, 502, "server_error", "upstream_error"},
    Row{Errc::kUpstreamUnreachable, 502, "server_error", "upstream_unreachable"},
    Row{Errc::kServiceUnavailable, 503, "server_error", "service_unavailable"},
    Row{Errc::kUpstreamTimeout, 504, "server_error", "upstream_timeout"},
    Row{Errc::kUpstreamStatus, 400, "invalid_request_error", ""},
    Row{Errc::kLoopDetected, 508, "server_error", "loop_detected"},
};

const Row& row(Errc errc) {
  for (const auto& r : kTable) {
    if (r.errc == errc) {
      return r;
    }
  }
  static_assert(kTable[11].errc == Errc::kInternal);
  return kTable[11];
}

}  // namespace

Error invalid_request(std::string message, std::string param) {
  return {Errc::kInvalidRequest, std::move(message), std::move(param)};
}

int http_status(const Error& error) {
  return error.status != 0 ? error.status : row(error.errc).status;
}

std::string_view error_type(const Error& error) {
  return error.type.empty() ? row(error.errc).type : std::string_view(error.type);
}

std::string_view error_code(const Error& error) {
  return error.code.empty() ? row(error.errc).code : std::string_view(error.code);
}

}  // namespace gw::core

#include "gw/core/logging.hpp"

namespace gw::core {

std::string error_json(const Error& error) {
  std::string out;
  out.reserve(error.message.size() + 96);
  out += R"({"error":{"message":")";
  append_json_escaped(out, error.message);
  out += R"(","type":")";
  append_json_escaped(out, error_type(error));
  out += R"(","param":)";
  if (error.param.empty()) {
    out += "null";
  } else {
    out += '"';
    append_json_escaped(out, error.param);
    out += '"';
  }
  out += R"(,"code":)";
  auto code = error_code(error);
  if (code.empty()) {
    out += "null";
  } else {
    out += '"';
    append_json_escaped(out, code);
    out += '"';
  }
  out += "}}";
  return out;
}

std::string sse_error_event(const Error& error) {
  std::string event = "data: ";
  event += error_json(error);
  event += "\n\n";
  return event;
}

std::string_view anthropic_error_type(const Error& error) {
  // https://docs.claude.com/en/api/errors
  static constexpr std::array<std::string_view, 10> kTypes{
      "invalid_request_error", "authentication_error", "permission_error", "not_found_error",
      "request_too_large",     "rate_limit_error",     "api_error",        "overloaded_error",
      "billing_error",         "timeout_error"};
  // The status decides where it has one type (an OpenAI-dialect upstream's 429 may say
  // "invalid_request_error" or "requests"); else Anthropic's own type, when it is one, is kept.
  switch (http_status(error)) {
    case 401:
      return "authentication_error";
    case 403:
      return "permission_error";
    case 404:
      return "not_found_error";
    case 413:
      return "request_too_large";
    case 429:
      return "rate_limit_error";
    default:
      break;
  }
  if (std::find(kTypes.begin(), kTypes.end(), error.type) != kTypes.end()) {
    return error.type;
  }
  switch (http_status(error)) {
    case 503:
    case 529:
      return "overloaded_error";
    case 504:
      return "timeout_error";
    default:
      return http_status(error) >= 500 ? "api_error" : "invalid_request_error";
  }
}

std::string anthropic_error_json(const Error& error) {
  std::string out;
  out.reserve(error.message.size() + 64);
  out += R"({"type":"error","error":{"type":")";
  append_json_escaped(out, anthropic_error_type(error));
  out += R"(","message":")";
  append_json_escaped(out, error.message);
  out += "\"}}";
  return out;
}

std::string anthropic_sse_error_event(const Error& error) {
  std::string event = "event: error\ndata: ";
  event += anthropic_error_json(error);
  event += "\n\n";
  return event;
}

}  // namespace gw::core
