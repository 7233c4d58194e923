#pragma once

#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <utility>
#include <vector>

namespace gw::core {

using EnvEntries = std::vector<std::pair<std::string, std::string>>;

// Parses the text of a `.env` file the way common dotenv tools do: `KEY=value` lines, optional
// `export ` prefix, `#` comments (whole-line, or after an unquoted value), blank lines, single
// quotes (literal), double quotes (escapes \n \t \r \" \\, may span lines). A malformed line is an
// error naming its line number: a silently ignored typo in a key name is worse than a refusal.
tl::expected<EnvEntries, std::string> parse_dotenv(std::string_view text);

// Reads and parses a file; the error names the path.
tl::expected<EnvEntries, std::string> load_dotenv_file(const std::string& path);

}  // namespace gw::core
