#include "gw/net/key_check.hpp"

#include <openssl/crypto.h>

namespace gw::net {

bool bearer_key_matches(std::string_view authorization, const std::vector<std::string>& keys) {
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.size() <= kBearer.size() ||
      !iequals(authorization.substr(0, kBearer.size()), kBearer)) {
    return false;
  }
  std::string_view presented = authorization.substr(kBearer.size());
  // Every key is compared in full, match or not, so timing reveals neither which key nor how much
  // of it matched.
  bool match = false;
  for (const auto& key : keys) {
    const bool same_length = key.size() == presented.size();
    const std::string_view other = same_length ? presented : std::string_view(key);
    match |= same_length & (CRYPTO_memcmp(key.data(), other.data(), key.size()) == 0);
  }
  return match;
}

bool internal_key_matches(const Request& request, const std::string& key) {
  if (bearer_key_matches(request.header("authorization"), {key})) {
    return true;
  }
  const std::string_view presented = request.header("x-internal-api-key");
  return presented.size() == key.size() &&
         CRYPTO_memcmp(presented.data(), key.data(), key.size()) == 0;
}

}  // namespace gw::net
