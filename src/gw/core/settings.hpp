#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gw/core/dotenv.hpp"

namespace gw::core {

// One configuration value and where it came from, so that an error can name the flag or variable.
struct Setting {
  std::string value;
  std::string origin;  // e.g. "--port", "environment variable PORT", "PORT in .env"
};

// Configuration lookup by variable name with the documented precedence:
// command-line flag > environment variable > .env file > default (the caller's).
class Settings {
 public:
  using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
  using EnvNames = std::function<std::vector<std::string>()>;

  Settings() = default;
  Settings(EnvLookup environment, const EnvEntries& dotenv, std::string dotenv_path,
           EnvNames environment_names = {});

  // Records a flag given on the command line for the variable `name`.
  void set_flag(const std::string& name, std::string flag, std::string value);

  std::optional<Setting> get(const std::string& name) const;
  // Every variable name any source defines (for families such as PROVIDER_<NAME>_BASE_URL).
  std::vector<std::string> names() const;

  // The process environment (getenv, environ).
  static EnvLookup process_environment();
  static EnvNames process_environment_names();

 private:
  EnvLookup environment_;
  EnvNames environment_names_;
  std::map<std::string, Setting, std::less<>> flags_;
  std::map<std::string, std::string, std::less<>> dotenv_;
  std::string dotenv_path_;
};

// Reads typed values from Settings, keeping the first error (which names the origin and value).
class ConfigReader {
 public:
  explicit ConfigReader(const Settings& settings) : settings_(settings) {}

  std::string text(const std::string& name, std::string fallback = {});
  std::optional<std::string> optional_text(const std::string& name);
  uint16_t port(const std::string& name, uint16_t fallback);
  int64_t integer(const std::string& name, int64_t fallback, int64_t min, int64_t max);
  std::chrono::milliseconds seconds(const std::string& name, double fallback);
  bool boolean(const std::string& name, bool fallback);
  // An absolute http(s) URL; a trailing slash is removed.
  std::string http_url(const std::string& name, std::string fallback);
  // A comma-separated list of such URLs (at least one; duplicates are errors).
  std::vector<std::string> http_urls(const std::string& name, const std::string& fallback);
  // One of `allowed` (case-insensitive); returns the lower-cased value.
  std::string choice(const std::string& name, std::string fallback,
                     std::initializer_list<std::string_view> allowed);

  void fail(const Setting& setting, std::string_view why);
  // An error that is not about one value (a required setting is missing).
  void fail_with(std::string message);
  const std::optional<std::string>& error() const { return error_; }
  const Settings& settings() const { return settings_; }

 private:
  const Settings& settings_;
  std::optional<std::string> error_;
};

}  // namespace gw::core
