#pragma once

#include <cstddef>
#include <string_view>

namespace gw::core {

// The length of the JSON string token (RFC 8259: quotes included, escapes well formed, no raw
// control character, UTF-8 well formed) at the start of `text`, or 0 if `text` does not start
// with one. A relay that copies an upstream's string into its own JSON unchanged checks it with
// this instead of unescaping and escaping it again.
size_t json_string_token_length(std::string_view text);

}  // namespace gw::core
