#include "gw/core/dotenv.hpp"

#include <fmt/format.h>

#include <cctype>
#include <fstream>
#include <sstream>

namespace gw::core {
namespace {

bool is_key_char(char c, bool first) {
  return c == '_' || std::isalpha(static_cast<unsigned char>(c)) != 0 ||
         (!first && (std::isdigit(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '-'));
}

void skip_blanks(std::string_view text, size_t& pos) {
  while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t')) {
    ++pos;
  }
}

// Moves pos to the start of the next line; returns false if the rest of the line holds anything
// but blanks or a comment.
bool finish_line(std::string_view text, size_t& pos) {
  skip_blanks(text, pos);
  bool clean = pos >= text.size() || text[pos] == '\n' || text[pos] == '\r' || text[pos] == '#';
  size_t eol = text.find('\n', pos);
  pos = eol == std::string_view::npos ? text.size() : eol + 1;
  return clean;
}

}  // namespace

tl::expected<EnvEntries, std::string> parse_dotenv(std::string_view text) {
  EnvEntries entries;
  size_t pos = 0;
  int line = 1;
  auto count_lines = [&](size_t from, size_t to) {
    for (size_t i = from; i < to && i < text.size(); ++i) {
      line += text[i] == '\n' ? 1 : 0;
    }
  };
  while (pos < text.size()) {
    const size_t line_start = pos;
    skip_blanks(text, pos);
    if (pos >= text.size() || text[pos] == '\n' || text[pos] == '\r' || text[pos] == '#') {
      finish_line(text, pos);
      count_lines(line_start, pos);
      continue;
    }
    if (text.substr(pos, 7) == "export " || text.substr(pos, 7) == "export\t") {
      pos += 7;
      skip_blanks(text, pos);
    }
    const size_t key_start = pos;
    while (pos < text.size() && is_key_char(text[pos], pos == key_start)) {
      ++pos;
    }
    std::string key(text.substr(key_start, pos - key_start));
    skip_blanks(text, pos);
    if (key.empty() || pos >= text.size() || text[pos] != '=') {
      return tl::unexpected(fmt::format("line {}: expected KEY=VALUE", line));
    }
    ++pos;
    skip_blanks(text, pos);
    std::string value;
    if (pos < text.size() && (text[pos] == '\'' || text[pos] == '"')) {
      const char quote = text[pos++];
      bool closed = false;
      while (pos < text.size()) {
        char c = text[pos++];
        if (c == quote) {
          closed = true;
          break;
        }
        if (quote == '"' && c == '\\' && pos < text.size()) {
          char e = text[pos++];
          switch (e) {
            case 'n':
              value += '\n';
              break;
            case 't':
              value += '\t';
              break;
            case 'r':
              value += '\r';
              break;
            default:
              value += e;
              break;
          }
          continue;
        }
        value += c;
      }
      if (!closed) {
        return tl::unexpected(fmt::format("line {}: unterminated quoted value for {}", line, key));
      }
      const size_t value_end = pos;
      if (!finish_line(text, pos)) {
        return tl::unexpected(
            fmt::format("line {}: unexpected text after the quoted value of {}", line, key));
      }
      count_lines(line_start, value_end);
      count_lines(value_end, pos);
    } else {
      size_t eol = text.find('\n', pos);
      if (eol == std::string_view::npos) {
        eol = text.size();
      }
      std::string_view raw = text.substr(pos, eol - pos);
      // An inline comment starts at a '#' preceded by white space.
      for (size_t i = 1; i < raw.size(); ++i) {
        if (raw[i] == '#' && (raw[i - 1] == ' ' || raw[i - 1] == '\t')) {
          raw = raw.substr(0, i);
          break;
        }
      }
      if (!raw.empty() && raw.front() == '#') {
        raw = {};
      }
      while (!raw.empty() && (raw.back() == ' ' || raw.back() == '\t' || raw.back() == '\r')) {
        raw.remove_suffix(1);
      }
      value.assign(raw);
      pos = eol == text.size() ? eol : eol + 1;
      count_lines(line_start, pos);
    }
    entries.emplace_back(std::move(key), std::move(value));
  }
  return entries;
}

tl::expected<EnvEntries, std::string> load_dotenv_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return tl::unexpected(fmt::format("cannot read env file {}", path));
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  auto parsed = parse_dotenv(buffer.str());
  if (!parsed) {
    return tl::unexpected(fmt::format("{}: {}", path, parsed.error()));
  }
  return parsed;
}

}  // namespace gw::core
