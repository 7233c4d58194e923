// OpenAI's usage object: read back from answers (and a relayed body checked to be JSON), written.
//
// Both run Boost.JSON's SAX parser with a handler that builds nothing: it validates every byte
// and keeps only the usage counts, from the text as it is (no padded copy). check_json_object
// checks the whole text's UTF-8 with simdjson's SIMD validator first and has the parser skip its
// own per-string check. On a 340-byte completion: 3.8k instructions (4.3k with the parser's
// UTF-8 check); simdjson's DOM parse about as much (3.7k, before the padded copy it needs); an
// on-demand walk that validates what it skips, 4.9k.

#include "gw/api/usage.hpp"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <boost/json/basic_parser_impl.hpp>
#include <limits>

#include "gw/api/chat_request.hpp"
#include "gw/core/parse.hpp"

namespace gw::api {
namespace {

namespace json = boost::json;

// The handler's view of a text: where the usage object's fields sit. A whole completion has
// them at depth 2 (root object, "usage" object); a text that starts at the usage object itself
// (what follows a "usage": key) at depth 1.
class UsageHandler {
 public:
  // The names Boost.JSON's handler concept requires.
  // NOLINTBEGIN(readability-identifier-naming)
  static constexpr size_t max_object_size = std::numeric_limits<size_t>::max();
  static constexpr size_t max_array_size = std::numeric_limits<size_t>::max();
  static constexpr size_t max_key_size = std::numeric_limits<size_t>::max();
  static constexpr size_t max_string_size = std::numeric_limits<size_t>::max();
  // NOLINTEND(readability-identifier-naming)

  // Counts pass through sane_token_count: they are added up (metrics, the dashboard's totals).
  explicit UsageHandler(bool usage_is_root)
      : usage_is_root_(usage_is_root), key_(usage_is_root ? Key::kUsage : Key::kOther) {}

  bool root_is_object() const { return root_is_object_; }
  std::optional<Usage> usage() const {
    return has_usage_ ? std::optional<Usage>(Usage{prompt_, completion_}) : std::nullopt;
  }

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_object_begin(json::error_code&) {
    if (depth_ == 0) {
      root_is_object_ = true;
    }
    if (depth_ == (usage_is_root_ ? 0 : 1) && key_ == Key::kUsage) {
      in_usage_ = true;
      prompt_ = completion_ = -1;
    }
    ++depth_;
    key_ = Key::kOther;
    return true;
  }
  bool on_object_end(size_t, json::error_code&) {
    --depth_;
    if (in_usage_ && depth_ == (usage_is_root_ ? 0 : 1)) {
      in_usage_ = false;
      has_usage_ = true;
    }
    key_ = Key::kOther;
    return true;
  }
  bool on_array_begin(json::error_code&) {
    ++depth_;
    key_ = Key::kOther;
    return true;
  }
  bool on_array_end(size_t, json::error_code&) {
    --depth_;
    return true;
  }
  bool on_key_part(json::string_view part, size_t, json::error_code&) {
    key_part_.append(part.data(), part.size());  // only a key with escapes comes in parts
    return true;
  }
  // Called for every key of the text: only the root's members (for "usage") and the usage
  // object's are compared, and inlined into the parser (a call per key was about a tenth of the
  // check's instructions).
  [[gnu::always_inline]] bool on_key(json::string_view last, size_t, json::error_code&) {
    key_ = Key::kOther;
    const bool root_member = depth_ == 1 && !usage_is_root_;
    const bool usage_member = in_usage_ && depth_ == (usage_is_root_ ? 1 : 2);
    if (root_member || usage_member) {
      read_key(std::string_view(last.data(), last.size()), root_member);
    }
    if (!key_part_.empty()) {
      key_part_.clear();
    }
    return true;
  }
  bool on_string_part(json::string_view, size_t, json::error_code&) { return true; }
  bool on_string(json::string_view, size_t, json::error_code&) { return value(); }
  bool on_number_part(json::string_view, json::error_code&) { return true; }
  bool on_int64(int64_t number, json::string_view, json::error_code&) {
    number = sane_token_count(number);
    if (key_ == Key::kPrompt) {
      prompt_ = number;
    } else if (key_ == Key::kCompletion) {
      completion_ = number;
    }
    return value();
  }
  bool on_uint64(uint64_t, json::string_view, json::error_code&) { return value(); }
  bool on_double(double, json::string_view, json::error_code&) { return value(); }
  bool on_bool(bool, json::error_code&) { return value(); }
  bool on_null(json::error_code&) { return value(); }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }

 private:
  enum class Key : uint8_t { kOther, kUsage, kPrompt, kCompletion };

  // A key of the root object (`root_member`) or of the usage object; `last` is its text after any
  // parts that came before an escape.
  void read_key(std::string_view last, bool root_member) {
    const std::string_view key =
        key_part_.empty() ? last : std::string_view(key_part_.append(last));
    // By length first: most keys have none of the three lengths.
    if (root_member) {
      if (key.size() == 5 && key == "usage") {
        key_ = Key::kUsage;
        has_usage_ = false;  // the last "usage" key wins; a non-object one means none
      }
    } else if (key.size() == 13 && key == "prompt_tokens") {
      key_ = Key::kPrompt;
    } else if (key.size() == 17 && key == "completion_tokens") {
      key_ = Key::kCompletion;
    }
  }

  bool value() {
    key_ = Key::kOther;
    return true;
  }

  bool usage_is_root_;
  bool root_is_object_ = false;
  bool in_usage_ = false;
  int depth_ = 0;
  Key key_ = Key::kOther;  // what the value being read is, when it matters
  // The counts as two numbers, not a Usage (whose optional details made the parser's inlined
  // steps too big to inline: 0.2k instructions more per completion).
  int64_t prompt_ = -1;
  int64_t completion_ = -1;
  bool has_usage_ = false;
  std::string key_part_;
};

// Nesting costs the SAX parser a few bytes of its own (heap) stack a level, no recursion: the
// body's size limit bounds it. A relayed body nested deeper than any real answer is still JSON.
// `utf8_checked`: the caller validated the whole text's UTF-8 already, with simdjson's SIMD
// validator (that, and the parser without its per-string check, took 0.3k instructions fewer on
// a 340-byte completion).
json::parse_options parse_options(bool utf8_checked) {
  json::parse_options options;
  options.max_depth = 100000;
  options.allow_invalid_utf8 = utf8_checked;
  return options;
}

}  // namespace

JsonObjectCheck check_json_object(std::string_view text) {
  JsonObjectCheck check;
  if (!simdjson::validate_utf8(text.data(), text.size())) {
    return check;
  }
  json::basic_parser<UsageHandler> parser(parse_options(true), false);
  json::error_code ec;
  // Given the whole text, the parser stops after the first JSON value: anything after it but
  // whitespace makes the text no JSON object.
  const size_t parsed = parser.write_some(false, text.data(), text.size(), ec);
  if (ec || parsed != text.size() || !parser.handler().root_is_object()) {
    return check;
  }
  check.is_object = true;
  check.usage = parser.handler().usage();
  return check;
}

std::optional<Usage> read_usage(std::string_view json) {
  // A completion carries its usage last: parse only from the last "usage" key on, not the whole
  // body (an unescaped "usage": can only be a key; strings escape their quotes). The parse stops
  // at the end of the usage object: what follows it is never looked at.
  static constexpr core::Substring kUsageKey(R"("usage":)", 'g');
  const size_t key = kUsageKey.rfind(json);
  if (key == std::string_view::npos && json.find(R"("usage")") == std::string_view::npos) {
    return std::nullopt;
  }
  const bool usage_is_root = key != std::string_view::npos;
  const std::string_view text = usage_is_root ? json.substr(key + 8) : json;
  json::basic_parser<UsageHandler> parser(parse_options(false), usage_is_root);
  json::error_code ec;
  const size_t parsed = parser.write_some(usage_is_root, text.data(), text.size(), ec);
  if (ec || !parser.done() || (!usage_is_root && parsed != text.size())) {
    return std::nullopt;
  }
  return parser.handler().usage();
}

// Numbers appended with fmt::format_int, no format string: a format_to per count cost 2.5k
// instructions more per translated completion.
void append_usage_json(std::string& out, const Usage& usage) {
  const auto count = [&out](std::string_view key, int64_t value) {
    out += key;
    const fmt::format_int text(value);
    out.append(text.data(), text.size());
  };
  const int64_t prompt = std::max<int64_t>(usage.prompt_tokens, 0);
  const int64_t completion = std::max<int64_t>(usage.completion_tokens, 0);
  count(R"({"prompt_tokens":)", prompt);
  count(R"(,"completion_tokens":)", completion);
  count(R"(,"total_tokens":)", prompt + completion);
  if (usage.cached_tokens || usage.cache_creation_tokens) {
    out += R"(,"prompt_tokens_details":{)";
    if (usage.cached_tokens) {
      count(R"("cached_tokens":)", *usage.cached_tokens);
    }
    if (usage.cache_creation_tokens) {
      count(usage.cached_tokens ? R"(,"cache_creation_tokens":)" : R"("cache_creation_tokens":)",
            *usage.cache_creation_tokens);
    }
    out += '}';
  }
  if (usage.reasoning_tokens) {
    count(R"(,"completion_tokens_details":{"reasoning_tokens":)", *usage.reasoning_tokens);
    out += '}';
  }
  out += '}';
}

}  // namespace gw::api
