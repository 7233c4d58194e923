#include "gw/providers/refusals.hpp"

#include <fmt/format.h>

#include "gw/core/logging.hpp"

namespace gw::providers {

core::Error invalid_field(std::string message, std::string param) {
  return {core::Errc::kInvalidRequest, std::move(message), std::move(param)};
}

core::Error unsupported_field(std::string_view field, std::string_view provider) {
  std::string name = core::bounded_text(field, 64);
  std::string message = fmt::format("'{}' is not supported by {}", name, provider);
  return invalid_field(std::move(message), std::move(name));
}

}  // namespace gw::providers
