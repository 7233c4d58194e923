#pragma once

#include <string>
#include <string_view>

#include "gw/core/error.hpp"

// What a translator answers for a request its provider cannot take as it is: a 400
// invalid_request_error whose `param` names the field, never a silent drop or a guess.
namespace gw::providers {

// "'<field>' is not supported by <provider>" ("the anthropic provider", ...), the field named in
// `param` too. The field may be client text: it is bounded.
core::Error unsupported_field(std::string_view field, std::string_view provider);

}  // namespace gw::providers
