#pragma once

// Shared by the libFuzzer targets: deterministic split points and named checks.
//
// Split points come from a hash of the whole input, not from leading control bytes: a corpus file
// is then the plain bytes a peer sends (a golden transcript can be dropped in as is), and a crash
// input still reproduces exactly.

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace gw::fuzz {

inline std::string_view as_view(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// splitmix64 seeded with FNV-1a of the input.
class Random {
 public:
  explicit Random(std::string_view input) {
    uint64_t h = 0xcbf29ce484222325u;
    for (unsigned char c : input) {
      h = (h ^ c) * 0x100000001b3u;
    }
    state_ = h;
  }
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
  }
  // Uniform enough in [lo, hi].
  size_t between(size_t lo, size_t hi) { return lo + static_cast<size_t>(next() % (hi - lo + 1)); }
  bool coin() { return (next() & 1) != 0; }

 private:
  uint64_t state_ = 0;
};

// The sizes of the pieces a peer's bytes arrive in: whole, byte by byte, small reads, or large
// ones, chosen per input.
class Splitter {
 public:
  explicit Splitter(Random& random) : random_(random), mode_(random.next() % 5) {}
  size_t next(size_t remaining) {
    if (remaining == 0) {
      return 0;
    }
    switch (mode_) {
      case 0:
        return remaining;
      case 1:
        return 1;
      case 2:
        return std::min(remaining, random_.between(1, 8));
      case 3:
        return std::min(remaining, random_.between(1, 64));
      default:
        return random_.between(1, remaining);
    }
  }
  // All the pieces of `input`, in order.
  std::vector<std::string_view> pieces(std::string_view input) {
    std::vector<std::string_view> out;
    while (!input.empty()) {
      const size_t n = next(input.size());
      out.push_back(input.substr(0, n));
      input.remove_prefix(n);
    }
    return out;
  }

 private:
  Random& random_;
  uint64_t mode_;
};

// GW_FUZZ_IGNORE=id1,id2 turns named checks off, so that a long run can go on past a finding
// that is already known (see fuzz/README.md).
inline bool ignored(std::string_view id) {
  static const std::string list = [] {
    const char* env = std::getenv("GW_FUZZ_IGNORE");
    return "," + std::string(env != nullptr ? env : "") + ",";
  }();
  return list.find("," + std::string(id) + ",") != std::string::npos;
}

inline std::string printable(std::string_view bytes, size_t max = 400) {
  std::string out;
  for (size_t i = 0; i < bytes.size() && i < max; ++i) {
    const unsigned char c = static_cast<unsigned char>(bytes[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      char buffer[8];
      std::snprintf(buffer, sizeof buffer, "\\x%02x", c);
      out += buffer;
    }
  }
  if (bytes.size() > max) {
    out += "...";
  }
  return out;
}

[[noreturn]] inline void fail(std::string_view id, const std::string& what) {
  std::fprintf(stderr, "\n==== gw fuzz check failed [%.*s]: %s\n", static_cast<int>(id.size()),
               id.data(), what.c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace gw::fuzz

// A property of the code under test. `id` names it for GW_FUZZ_IGNORE; `what` is only evaluated
// on failure.
#define GW_FUZZ_CHECK(cond, id, what)          \
  do {                                         \
    if (!(cond) && !::gw::fuzz::ignored(id)) { \
      ::gw::fuzz::fail(id, (what));            \
    }                                          \
  } while (false)
