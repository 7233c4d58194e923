#include "gw/providers/common/message_parts.hpp"

#include <boost/json/parse.hpp>

#include "gw/providers/common/unsupported_field.hpp"

namespace gw::providers {

std::optional<std::string_view> image_url_of(const boost::json::object& part) {
  const boost::json::value* image = part.if_contains("image_url");
  const boost::json::value* url =
      image != nullptr && image->is_object() ? image->as_object().if_contains("url") : image;
  if (url == nullptr || !url->is_string()) {
    return std::nullopt;
  }
  return std::string_view(url->as_string());
}

std::optional<Base64Data> base64_data_url(std::string_view url) {
  constexpr std::string_view kScheme = "data:";
  constexpr std::string_view kBase64 = ";base64";
  const size_t comma = url.find(',');
  if (!url.starts_with(kScheme) || comma == std::string_view::npos) {
    return std::nullopt;
  }
  const std::string_view meta = url.substr(kScheme.size(), comma - kScheme.size());
  if (!meta.ends_with(kBase64)) {
    return std::nullopt;
  }
  return Base64Data{meta.substr(0, meta.size() - kBase64.size()), url.substr(comma + 1)};
}

tl::expected<boost::json::value, core::Error> tool_call_arguments(
    const boost::json::value* arguments, const std::string& param,
    const boost::json::storage_ptr& sp) {
  if (arguments == nullptr || !arguments->is_string() || arguments->as_string().empty()) {
    return boost::json::object(sp);
  }
  boost::system::error_code ec;
  boost::json::value parsed = boost::json::parse(arguments->as_string(), ec, sp);
  if (ec || !parsed.is_object()) {
    return tl::unexpected(
        core::invalid_request("tool call arguments must be a JSON object", param));
  }
  return parsed;
}

}  // namespace gw::providers
