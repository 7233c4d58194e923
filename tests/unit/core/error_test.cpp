#include "gw/core/error.hpp"

#include <gtest/gtest.h>

namespace gw::core {
namespace {

TEST(Error, TableGivesStatusTypeAndCode) {
  struct Case {
    Errc errc;
    int status;
    std::string_view type;
    std::string_view code;
  };
  for (const auto& c :
       {Case{Errc::kInvalidRequest, 400, "invalid_request_error", ""},
        Case{Errc::kUnauthorized, 401, "invalid_request_error", "invalid_api_key"},
        Case{Errc::kModelNotFound, 404, "invalid_request_error", "model_not_found"},
        Case{Errc::kMethodNotAllowed, 405, "invalid_request_error", "method_not_allowed"},
        Case{Errc::kPayloadTooLarge, 413, "invalid_request_error", "request_too_large"},
        Case{Errc::kHeadersTooLarge, 431, "invalid_request_error", "headers_too_large"},
        Case{Errc::kRateLimited, 429, "rate_limit_error", "rate_limit_exceeded"},
        Case{Errc::kUpstreamError, 502, "server_error", "upstream_error"},
        Case{Errc::kUpstreamUnreachable, 502, "server_error", "upstream_unreachable"},
        Case{Errc::kUpstreamTimeout, 504, "server_error", "upstream_timeout"}}) {
    Error error(c.errc, "m");
    EXPECT_EQ(http_status(error), c.status);
    EXPECT_EQ(error_type(error), c.type);
    EXPECT_EQ(error_code(error), c.code);
  }
}

TEST(Error, OverridesWin) {
  Error error(Errc::kUpstreamStatus, "m");
  error.status = 422;
  error.type = "custom";
  error.code = "c";
  EXPECT_EQ(http_status(error), 422);
  EXPECT_EQ(error_type(error), "custom");
  EXPECT_EQ(error_code(error), "c");
}

TEST(Error, JsonShapeWithNullsAndEscaping) {
  Error error(Errc::kInvalidRequest, "bad \"x\"\n");
  EXPECT_EQ(error_json(error),
            R"({"error":{"message":"bad \"x\"\n","type":"invalid_request_error","param":null,)"
            R"("code":null}})");
  Error with_param(Errc::kModelNotFound, "no", "model");
  EXPECT_EQ(error_json(with_param),
            R"({"error":{"message":"no","type":"invalid_request_error","param":"model",)"
            R"("code":"model_not_found"}})");
}

TEST(Error, AnthropicShapeTypesByStatusAsAnthropicDocumentsThem) {
  struct Case {
    Errc errc;
    std::string_view type;
  };
  for (const auto& c :
       {Case{Errc::kInvalidRequest, "invalid_request_error"},
        Case{Errc::kUnauthorized, "authentication_error"},
        Case{Errc::kForbidden, "permission_error"}, Case{Errc::kNotFound, "not_found_error"},
        Case{Errc::kModelNotFound, "not_found_error"},
        Case{Errc::kPayloadTooLarge, "request_too_large"},
        Case{Errc::kRateLimited, "rate_limit_error"},
        Case{Errc::kMethodNotAllowed, "invalid_request_error"}, Case{Errc::kInternal, "api_error"},
        Case{Errc::kUpstreamTimeout, "timeout_error"},
        Case{Errc::kServiceUnavailable, "overloaded_error"}}) {
    EXPECT_EQ(anthropic_error_type(Error(c.errc, "m")), c.type);
  }
  Error upstream(Errc::kUpstreamError, "Overloaded");
  upstream.type = "overloaded_error";  // an Anthropic upstream's own type is kept
  EXPECT_EQ(anthropic_error_type(upstream), "overloaded_error");
  upstream.type = "server_error";  // OpenAI's is not one of Anthropic's
  EXPECT_EQ(anthropic_error_type(upstream), "api_error");
  // Where the status has one type, it decides: an OpenAI-dialect 429 typed as a bad request.
  Error limited(Errc::kRateLimited, "slow down");
  limited.type = "invalid_request_error";
  EXPECT_EQ(anthropic_error_type(limited), "rate_limit_error");
  EXPECT_EQ(anthropic_error_json(Error(Errc::kModelNotFound, "no \"x\"")),
            R"({"type":"error","error":{"type":"not_found_error","message":"no \"x\""}})");
  EXPECT_EQ(anthropic_sse_error_event(Error(Errc::kInternal, "boom")),
            "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\","
            "\"message\":\"boom\"}}\n\n");
}

}  // namespace
}  // namespace gw::core
