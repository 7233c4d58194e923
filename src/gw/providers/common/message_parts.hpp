#pragma once

#include <boost/json/object.hpp>
#include <boost/json/storage_ptr.hpp>
#include <boost/json/value.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>

#include "gw/core/error.hpp"

// Reading what an OpenAI chat message carries besides text (image parts, tool calls' arguments),
// as every translator that takes them does.
namespace gw::providers {

// The URL of an `image_url` part: {"image_url": {"url": "..."}} or, as some clients send it,
// {"image_url": "..."}; nullopt when absent, null or not a string.
std::optional<std::string_view> image_url_of(const boost::json::object& part);

// A base64 data URL ("data:image/png;base64,AAAA") split into its media type and data; nullopt
// for any other URL (a data URL not in base64 included).
struct Base64Data {
  std::string_view media_type;
  std::string_view data;
};
std::optional<Base64Data> base64_data_url(std::string_view url);

// A tool call's `function.arguments` (JSON text) as the object it encodes, in `sp`'s storage;
// absent, not a string or empty: {}. Anything but an object is a 400 naming `param`.
tl::expected<boost::json::value, core::Error> tool_call_arguments(
    const boost::json::value* arguments, const std::string& param,
    const boost::json::storage_ptr& sp = {});

}  // namespace gw::providers
