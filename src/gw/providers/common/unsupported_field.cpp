#include "gw/providers/common/unsupported_field.hpp"

#include <fmt/format.h>

#include "gw/core/logging.hpp"

namespace gw::providers {

core::Error unsupported_field(std::string_view field, std::string_view provider) {
  std::string name = core::bounded_text(field, 64);
  std::string message = fmt::format("'{}' is not supported by {}", name, provider);
  return core::invalid_request(std::move(message), std::move(name));
}

}  // namespace gw::providers
