#include "gw/core/request_id.hpp"

#include <cstdint>
#include <random>

namespace gw::core {

std::string new_request_id() {
  // splitmix64 seeded once per thread from the OS; ids need to be unique, not secret.
  thread_local uint64_t state = [] {
    std::random_device rd;
    return (static_cast<uint64_t>(rd()) << 32) ^ rd();
  }();
  auto next = [] {
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  };
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(32, '0');
  char* out = id.data();
  for (uint64_t part : {next(), next()}) {
    for (int byte = 0; byte < 8; ++byte, part >>= 8) {
      *out++ = kHex[(part >> 4) & 0xF];
      *out++ = kHex[part & 0xF];
    }
  }
  return id;
}

std::string_view via_entry() {
  static const std::string entry = "1.1 llm-gateway-" + new_request_id().substr(0, 16);
  return entry;
}

bool has_passed_here(std::string_view via) {
  return !via.empty() && via.find(via_entry()) != std::string_view::npos;
}

std::string via_with_this_hop(std::string_view incoming) {
  std::string out(incoming);
  if (!out.empty()) {
    out += ", ";
  }
  out += via_entry();
  return out;
}

bool is_acceptable_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128) {
    return false;
  }
  for (char c : id) {
    if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\\') {
      return false;
    }
  }
  return true;
}

}  // namespace gw::core
