#include "gw/core/settings.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "gw/core/parse.hpp"

namespace gw::core {

Settings::Settings(EnvLookup environment, const EnvEntries& dotenv, std::string dotenv_path,
                   EnvNames environment_names)
    : environment_(std::move(environment)),
      environment_names_(std::move(environment_names)),
      dotenv_path_(std::move(dotenv_path)) {
  for (const auto& [key, value] : dotenv) {
    dotenv_.insert_or_assign(key, value);  // a later line wins, as in dotenv tools
  }
}

void Settings::set_flag(const std::string& name, std::string flag, std::string value) {
  flags_.insert_or_assign(name, Setting{std::move(value), std::move(flag)});
}

std::optional<Setting> Settings::get(const std::string& name) const {
  if (auto it = flags_.find(name); it != flags_.end()) {
    return it->second;
  }
  if (environment_) {
    if (auto value = environment_(name)) {
      return Setting{std::move(*value), "environment variable " + name};
    }
  }
  if (auto it = dotenv_.find(name); it != dotenv_.end()) {
    return Setting{it->second, fmt::format("{} in {}", name, dotenv_path_)};
  }
  return std::nullopt;
}

std::vector<std::string> Settings::names() const {
  std::vector<std::string> out;
  for (const auto& [name, setting] : flags_) {
    out.push_back(name);
  }
  if (environment_names_) {
    for (auto& name : environment_names_()) {
      out.push_back(std::move(name));
    }
  }
  for (const auto& [name, value] : dotenv_) {
    out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Settings::EnvNames Settings::process_environment_names() {
  return [] {
    std::vector<std::string> names;
    for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
      std::string_view text(*entry);
      names.emplace_back(text.substr(0, text.find('=')));
    }
    return names;
  };
}

Settings::EnvLookup Settings::process_environment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());  // NOLINT(concurrency-mt-unsafe): start-up only
    if (value == nullptr) {
      return std::nullopt;
    }
    return std::string(value);
  };
}

void ConfigReader::fail(const Setting& setting, std::string_view why) {
  if (!error_) {
    error_ = fmt::format("invalid value '{}' for {}: {}", setting.value, setting.origin, why);
  }
}

void ConfigReader::fail_with(std::string message) {
  if (!error_) {
    error_ = std::move(message);
  }
}

std::string ConfigReader::text(const std::string& name, std::string fallback) {
  auto s = settings_.get(name);
  return s ? s->value : std::move(fallback);
}

std::optional<std::string> ConfigReader::optional_text(const std::string& name) {
  auto s = settings_.get(name);
  if (!s || s->value.empty()) {
    return std::nullopt;
  }
  return s->value;
}

uint16_t ConfigReader::port(const std::string& name, uint16_t fallback) {
  return static_cast<uint16_t>(integer(name, fallback, 0, 65535));
}

int64_t ConfigReader::integer(const std::string& name, int64_t fallback, int64_t min, int64_t max) {
  auto s = settings_.get(name);
  if (!s) {
    return fallback;
  }
  auto v = parse_int(s->value);
  if (!v) {
    fail(*s, "not an integer");
    return fallback;
  }
  if (*v < min || *v > max) {
    fail(*s, fmt::format("must be between {} and {}", min, max));
    return fallback;
  }
  return *v;
}

std::chrono::milliseconds ConfigReader::seconds(const std::string& name, double fallback) {
  auto to_ms = [](double s) {
    return std::chrono::milliseconds(static_cast<int64_t>(std::llround(s * 1000.0)));
  };
  auto s = settings_.get(name);
  if (!s) {
    return to_ms(fallback);
  }
  auto v = parse_seconds(s->value);
  if (!v) {
    fail(*s, "expected a positive number of seconds (e.g. 10 or 0.5)");
    return to_ms(fallback);
  }
  return *v;
}

bool ConfigReader::boolean(const std::string& name, bool fallback) {
  auto s = settings_.get(name);
  if (!s) {
    return fallback;
  }
  auto v = parse_bool(s->value);
  if (!v) {
    fail(*s, "expected 1/0, true/false, yes/no or on/off");
    return fallback;
  }
  return *v;
}

std::string ConfigReader::http_url(const std::string& name, std::string fallback) {
  auto s = settings_.get(name);
  if (!s) {
    return fallback;
  }
  auto url = normalize_http_url(s->value);
  if (!url) {
    fail(*s, url.error());
    return fallback;
  }
  return *url;
}

std::vector<std::string> ConfigReader::http_urls(const std::string& name,
                                                 const std::string& fallback) {
  auto s = settings_.get(name);
  if (!s) {
    return {fallback};
  }
  std::vector<std::string> urls;
  for (const auto& item : split_list(s->value)) {
    auto url = normalize_http_url(item);
    if (!url) {
      fail(*s, "'" + item + "': " + url.error());
      return {fallback};
    }
    if (std::find(urls.begin(), urls.end(), *url) != urls.end()) {
      fail(*s, "'" + *url + "' is listed twice");
      return {fallback};
    }
    urls.push_back(std::move(*url));
  }
  if (urls.empty()) {
    fail(*s, "expected one URL or more, separated by commas");
    return {fallback};
  }
  return urls;
}

std::string ConfigReader::choice(const std::string& name, std::string fallback,
                                 std::initializer_list<std::string_view> allowed) {
  auto s = settings_.get(name);
  if (!s) {
    return fallback;
  }
  std::string lower = ascii_lower(s->value);
  if (std::find(allowed.begin(), allowed.end(), lower) == allowed.end()) {
    std::string options;
    for (auto a : allowed) {
      options += options.empty() ? "" : ", ";
      options += a;
    }
    fail(*s, "expected one of: " + options);
    return fallback;
  }
  return lower;
}

}  // namespace gw::core
