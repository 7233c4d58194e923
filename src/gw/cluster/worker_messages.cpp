#include "gw/cluster/worker_messages.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "gw/core/parse.hpp"

namespace gw::cluster {
namespace {

namespace json = boost::json;

tl::expected<json::object, core::Error> object_body(std::string_view body) {
  boost::system::error_code ec;
  auto value = json::parse(body, ec);
  if (ec || !value.is_object()) {
    return tl::unexpected(core::invalid_request("The request body must be a JSON object."));
  }
  return std::move(value.get_object());
}

tl::expected<std::string, core::Error> required_string(const json::object& body,
                                                       std::string_view name) {
  const auto* value = body.if_contains(name);
  if (value == nullptr || !value->is_string() || value->get_string().empty()) {
    return tl::unexpected(core::invalid_request(
        fmt::format("'{}' is required and must be a non-empty string", name), std::string(name)));
  }
  const std::string_view text = value->get_string();
  const bool has_control = std::any_of(text.begin(), text.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
  });
  if (has_control || text.size() > kMaxIdLength) {
    return tl::unexpected(core::invalid_request(
        fmt::format("'{}' must be at most {} bytes without control characters", name, kMaxIdLength),
        std::string(name)));
  }
  return std::string(text);
}

tl::expected<int64_t, core::Error> optional_integer(const json::object& body, std::string_view name,
                                                    int64_t fallback, int64_t min) {
  const auto* value = body.if_contains(name);
  if (value == nullptr || value->is_null()) {
    return fallback;
  }
  if (!value->is_int64() || value->get_int64() < min) {
    return tl::unexpected(core::invalid_request(
        fmt::format("'{}' must be an integer of at least {}", name, min), std::string(name)));
  }
  return value->get_int64();
}

}  // namespace

tl::expected<Registration, core::Error> parse_registration(std::string_view text) {
  auto body = object_body(text);
  if (!body) {
    return tl::unexpected(body.error());
  }
  auto worker_id = required_string(*body, "worker_id");
  auto model_id = required_string(*body, "model_id");
  auto url = required_string(*body, "url");
  auto capacity = optional_integer(*body, "capacity", 10, 1);
  auto load = optional_integer(*body, "current_load", 0, 0);
  for (const auto* failed : {&worker_id, &model_id, &url}) {
    if (!*failed) {
      return tl::unexpected(failed->error());
    }
  }
  for (const auto* failed : {&capacity, &load}) {
    if (!*failed) {
      return tl::unexpected(failed->error());
    }
  }
  return Registration{*worker_id, *model_id, *url, *capacity, *load};
}

tl::expected<Heartbeat, core::Error> parse_heartbeat(std::string_view text) {
  auto body = object_body(text);
  if (!body) {
    return tl::unexpected(body.error());
  }
  auto worker_id = required_string(*body, "worker_id");
  if (!worker_id) {
    return tl::unexpected(worker_id.error());
  }
  auto load = optional_integer(*body, "current_load", 0, 0);
  if (!load) {
    return tl::unexpected(load.error());
  }
  Heartbeat heartbeat{std::move(*worker_id), *load, std::nullopt};
  if (const auto* draining = body->if_contains("draining");
      draining != nullptr && draining->is_bool()) {
    heartbeat.draining = draining->get_bool();
  }
  return heartbeat;
}

std::optional<api::Usage> parse_checked_usage(std::string_view value) {
  const size_t space = value.find(' ');
  if (space == std::string_view::npos) {
    return std::nullopt;
  }
  const auto prompt = core::parse_int(value.substr(0, space));
  const auto completion = core::parse_int(value.substr(space + 1));
  if (!prompt || !completion || *prompt < 0 || *completion < 0) {
    return std::nullopt;
  }
  return api::Usage{api::sane_token_count(*prompt), api::sane_token_count(*completion)};
}

}  // namespace gw::cluster
