#include "gw/mock/common.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/this_coro.hpp>
#include <boost/json/value.hpp>
#include <cctype>

#include "gw/api/completion_json.hpp"
#include "gw/core/logging.hpp"
#include "gw/core/parse.hpp"
#include "gw/net/io.hpp"
#include "gw/net/key_check.hpp"

namespace gw::mock {
namespace {

namespace asio = boost::asio;

std::string describe_request(const net::Request& request) {
  std::string out = R"({"path":")";
  core::append_json_escaped(out, request.target);
  out += R"(","headers":{)";
  bool first = true;
  for (const auto& [name, value] : request.headers) {
    out += first ? "\"" : ",\"";
    first = false;
    core::append_json_escaped(out, core::ascii_lower(name));
    out += "\":\"";
    core::append_json_escaped(out, value);
    out += '"';
  }
  out += R"(},"body":")";
  core::append_json_escaped(out, request.body);
  out += "\"}";
  return out;
}

}  // namespace

std::string stats_json(MockStats& stats) {
  std::lock_guard lock(stats.mutex);
  return fmt::format(
      R"({{"requests":{},"completed":{},"cancelled":{},"in_flight":{},"last_request":{}}})",
      stats.requests.load(), stats.completed.load(), stats.cancelled.load(), stats.in_flight.load(),
      stats.last_request.empty() ? "null" : stats.last_request);
}

RequestTracker::RequestTracker(MockStats& stats, const net::Request& request) : stats_(stats) {
  stats_.requests++;
  stats_.in_flight++;
  std::string described = describe_request(request);
  std::lock_guard lock(stats_.mutex);
  stats_.last_request = std::move(described);
}

RequestTracker::~RequestTracker() {
  stats_.in_flight--;
  (completed_ ? stats_.completed : stats_.cancelled)++;
}

bool api_key_matches(std::string_view presented, const std::string& key) {
  // The gateway's own check is constant-time; an x-api-key is a bearer key without the prefix.
  return net::bearer_key_matches(std::string("Bearer ").append(presented), {key});
}

net::Task<bool> pause(std::chrono::milliseconds delay) {
  if (delay.count() <= 0) {
    co_return true;
  }
  net::SteadyTimer timer(co_await asio::this_coro::executor, delay);
  auto [ec] = co_await timer.async_wait(net::kUseTask);
  co_return !ec;
}

net::Task<bool> EventStream::gate() {
  if (options_.cut_after > 0 && sent_ >= options_.cut_after) {
    writer_.abort();
    co_return false;
  }
  if (options_.stall_after > 0 && sent_ >= options_.stall_after) {
    // Until the client gives up: the point is a connection that stays open and silent.
    co_await pause(std::chrono::hours(24 * 365));
    co_return false;
  }
  ++sent_;
  co_return true;
}

// `event` must stay valid until the returned task completes: the callers pass their own locals.
// Each co_await is a statement of its own: with `content_sent_ && !co_await pause(...)` as a
// condition, GCC 12 built a coroutine that trapped (ud2) on resume.
net::Task<bool> EventStream::emit(std::string_view event, bool content) {
  if (options_.whole_stream) {
    const bool open = co_await gate();
    if (open) {
      whole_.append(event);
    }
    co_return open;
  }
  if (sent_ == 0 && options_.first_event_delay.count() > 0) {
    const bool waited = co_await pause(options_.first_event_delay);
    if (!waited) {
      co_return false;
    }
  }
  if (content && content_sent_) {
    const bool waited = co_await pause(options_.token_delay);
    if (!waited) {
      co_return false;
    }
  }
  content_sent_ = content_sent_ || content;
  const bool open = co_await gate();
  if (!open) {
    co_return false;
  }
  const bool written = co_await writer_.write(event);
  co_return written;
}

net::Task<bool> EventStream::finish(std::string_view last) {
  const bool open = co_await gate();
  if (!open) {
    co_return false;
  }
  if (!whole_.empty()) {
    whole_.append(last);
    const bool written = co_await writer_.finish_stream(whole_);
    co_return written;
  }
  const bool written = co_await writer_.finish_stream(last);
  co_return written;
}

std::vector<std::string_view> answer_tokens(std::string_view text, int64_t forced) {
  std::vector<std::string_view> tokens = api::split_tokens(text);
  if (forced <= 0) {
    return tokens;
  }
  const auto base = tokens.empty() ? std::vector<std::string_view>{" token"} : tokens;
  tokens.clear();
  for (int64_t i = 0; i < forced; ++i) {
    std::string_view t = base[static_cast<size_t>(i) % base.size()];
    tokens.push_back(i == 0 && !t.empty() && t.front() == ' ' ? t.substr(1) : t);
  }
  return tokens;
}

std::vector<std::string_view> utf8_fragments(std::string_view text, size_t parts) {
  std::vector<std::string_view> out;
  size_t begin = 0;
  for (size_t i = 1; i <= parts; ++i) {
    size_t end = i == parts ? text.size() : std::max(begin, text.size() * i / parts);
    // Continuation bytes are 10xxxxxx: move the cut forward to the next sequence's first byte.
    while (end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) {
      ++end;
    }
    out.push_back(text.substr(begin, end - begin));
    begin = end;
  }
  return out;
}

std::string content_text(const boost::json::value* content) {
  if (content == nullptr) {
    return {};
  }
  if (const auto* s = content->if_string()) {
    return std::string(*s);
  }
  std::string text;
  if (const auto* parts = content->if_array()) {
    for (const auto& part : *parts) {
      const auto* object = part.if_object();
      const auto* part_text = object ? object->if_contains("text") : nullptr;
      if (part_text && part_text->is_string()) {
        text += text.empty() ? "" : " ";
        text += part_text->get_string();
      }
    }
  }
  return text;
}

std::string tool_arguments(std::string_view text) {
  std::string out = R"({"query":")";
  core::append_json_escaped(out, text);
  out += "\"}";
  return out;
}

boost::json::parse_options deep_json() {
  boost::json::parse_options options;
  options.max_depth = 512;
  return options;
}

size_t count_words(std::string_view text) {
  size_t words = 0;
  bool in_word = false;
  for (char c : text) {
    const bool space = c == ' ' || c == '\n' || c == '\t' || c == '\r';
    if (!space && !in_word) {
      ++words;
    }
    in_word = !space;
  }
  return words;
}

namespace {
bool type_is(const boost::json::value* value, std::string_view expected) {
  return value != nullptr && value->is_string() && value->get_string() == expected;
}
}  // namespace

// A value that satisfies a JSON schema, as constrained decoding would give one: strings are the
// user's text, the first of an enum or anyOf, every property of an object; deterministic.
boost::json::value instance_of(const boost::json::value& schema, const std::string& text,
                               int depth) {
  const auto* object = schema.if_object();
  if (object == nullptr || depth > 16) {
    return nullptr;
  }
  if (const auto* values = object->if_contains("enum");
      values && values->is_array() && !values->get_array().empty()) {
    return values->get_array().front();
  }
  if (const auto* options = object->if_contains("anyOf");
      options && options->is_array() && !options->get_array().empty()) {
    return instance_of(options->get_array().front(), text, depth + 1);
  }
  const auto* type = object->if_contains("type");
  if (type_is(type, "string")) {
    return boost::json::string(text);
  }
  if (type_is(type, "number") || type_is(type, "integer")) {
    return 1;
  }
  if (type_is(type, "boolean")) {
    return true;
  }
  if (type_is(type, "array")) {
    return boost::json::array();
  }
  boost::json::object out;
  if (const auto* properties = object->if_contains("properties");
      properties != nullptr && properties->is_object()) {
    for (const auto& [key, property] : properties->get_object()) {
      out[key] = instance_of(property, text, depth + 1);
    }
  }
  return out;
}

}  // namespace gw::mock
