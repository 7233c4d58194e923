#include "gw/net/key_check.hpp"

#include <openssl/crypto.h>

namespace gw::net {

namespace {

// Every key is compared in full, match or not, so timing reveals neither which key nor how much of
// it matched.
bool key_matches(std::string_view presented, const std::vector<std::string>& keys) {
  bool match = false;
  for (const auto& key : keys) {
    const bool same_length = key.size() == presented.size();
    const std::string_view other = same_length ? presented : std::string_view(key);
    match |= same_length & (CRYPTO_memcmp(key.data(), other.data(), key.size()) == 0);
  }
  return match;
}

}  // namespace

bool bearer_key_matches(std::string_view authorization, const std::vector<std::string>& keys) {
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.size() <= kBearer.size() ||
      !iequals(authorization.substr(0, kBearer.size()), kBearer)) {
    return false;
  }
  return key_matches(authorization.substr(kBearer.size()), keys);
}

bool client_key_matches(const Request& request, const std::vector<std::string>& keys) {
  const std::string_view x_api_key = request.header("x-api-key");
  return bearer_key_matches(request.header("authorization"), keys) ||
         (!x_api_key.empty() && key_matches(x_api_key, keys));
}

std::string_view client_key_refusal(const Request& request) {
  return request.header("authorization").empty() && request.header("x-api-key").empty()
             ? "Missing API key: send it as 'Authorization: Bearer <key>' or 'x-api-key: <key>'."
             : "Incorrect API key provided.";
}

bool service_key_matches(const Request& request, const std::string& key,
                         std::string_view key_header) {
  if (bearer_key_matches(request.header("authorization"), {key})) {
    return true;
  }
  const std::string_view presented = request.header(key_header);
  return presented.size() == key.size() &&
         CRYPTO_memcmp(presented.data(), key.data(), key.size()) == 0;
}

}  // namespace gw::net
