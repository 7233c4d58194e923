// What the gateway reads from an upstream besides completions: error bodies
// (providers::map_upstream_error and AnthropicProvider::map_error, turned into the client's error
// by core::error_json) and model lists (parse_models of the OpenAI-compatible, Ollama and
// Anthropic providers).
//
// The upstream status and Retry-After are chosen from the input's hash. Checks: no crash,
// sanitizer report or exception; the client's status is 4xx or 5xx ("error_status"); the error
// body sent to the client is valid JSON ("error_json_valid": Boost.JSON also requires UTF-8).

#include <boost/json/parse.hpp>
#include <cstddef>
#include <cstdint>
#include <exception>

#include "fuzz_support.hpp"
#include "gw/core/logging.hpp"
#include "gw/providers/anthropic.hpp"
#include "gw/providers/ollama.hpp"
#include "gw/providers/openai_compatible.hpp"

namespace {

using namespace gw::fuzz;
namespace providers = gw::providers;

constexpr int kStatuses[] = {400, 401, 403, 404, 408, 413, 422, 429, 500, 502, 503, 504, 529};

void check_error(const gw::core::Error& error, std::string_view body, int status) {
  const int sent = gw::core::http_status(error);
  GW_FUZZ_CHECK(
      sent >= 400 && sent <= 599, "error_status",
      "client status " + std::to_string(sent) + " for upstream " + std::to_string(status));
  const std::string json = gw::core::error_json(error);
  boost::system::error_code ec;
  boost::json::parse(json, ec);
  GW_FUZZ_CHECK(!ec, "error_json_valid",
                "error body is not valid JSON (" + ec.message() + "): " + printable(json) +
                    "\nupstream body: " + printable(body));
}

void run(std::string_view body) {
  Random random(body);
  const int status = random.coin() ? kStatuses[random.between(0, std::size(kStatuses) - 1)]
                                   : static_cast<int>(random.between(0, 999));
  const std::string retry_after = random.coin() ? "" : "7";
  static const auto endpoint = *gw::net::Endpoint::parse("http://upstream.test:8080/v1");
  static const providers::OpenAICompatibleProvider openai({"openai", endpoint, "key", true});
  static const providers::OllamaProvider ollama({"ollama", endpoint});
  static const providers::AnthropicProvider anthropic({"anthropic", endpoint, "key"});

  check_error(providers::map_upstream_error("openai", status, body, retry_after), body, status);
  check_error(openai.map_error(status, body, retry_after), body, status);
  check_error(ollama.map_error(status, body, retry_after), body, status);
  check_error(anthropic.map_error(status, body, retry_after), body, status);

  (void)openai.parse_models(body);
  (void)ollama.parse_models(body);
  (void)anthropic.parse_models(body);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    run(as_view(data, size));
  } catch (const std::exception& e) {
    GW_FUZZ_CHECK(false, "exception", std::string("threw: ") + e.what());
  }
  return 0;
}
