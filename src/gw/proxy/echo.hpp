#pragma once

#include "gw/api/chat_request.hpp"
#include "gw/net/http_types.hpp"

namespace gw::proxy {

// The built-in `echo` model: answers with the last user message (streamed word by word).
net::Task<void> reply_echo(net::Exchange& exchange, const api::ChatRequestInfo& info);

}  // namespace gw::proxy
