#include "gw/api/completion_json.hpp"

#include <fmt/format.h>

#include <chrono>

#include "gw/core/logging.hpp"
#include "gw/core/request_id.hpp"

namespace gw::api {
namespace {

void append_head(std::string& out, const CompletionMeta& meta, std::string_view object) {
  out += R"({"id":")";
  core::append_json_escaped(out, meta.id);
  fmt::format_to(std::back_inserter(out), R"(","object":"{}","created":{},"model":")", object,
                 meta.created);
  core::append_json_escaped(out, meta.model);
  out += R"(",)";
}

}  // namespace

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

CompletionMeta new_completion_meta(std::string model) {
  return {"chatcmpl-" + core::new_request_id().substr(0, 24), unix_now(), std::move(model)};
}

std::string completion_json(const CompletionMeta& meta, std::string_view content,
                            std::string_view finish_reason, const Usage& usage) {
  std::string out;
  out.reserve(content.size() + 320);
  append_head(out, meta, "chat.completion");
  out += R"("choices":[{"index":0,"message":{"role":"assistant","content":")";
  core::append_json_escaped(out, content);
  out += R"(","refusal":null},"logprobs":null,"finish_reason":")";
  out += finish_reason;
  out += R"("}],"usage":)";
  append_usage_json(out, usage);
  out += '}';
  return out;
}

std::string sse_data(std::string_view json) {
  std::string out;
  out.reserve(json.size() + 8);
  out += "data: ";
  out += json;
  out += "\n\n";
  return out;
}

std::vector<std::string_view> split_tokens(std::string_view text) {
  std::vector<std::string_view> tokens;
  size_t start = 0;
  size_t i = 0;
  auto is_space = [](char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; };
  while (i < text.size()) {
    while (i < text.size() && is_space(text[i])) {
      ++i;
    }
    while (i < text.size() && !is_space(text[i])) {
      ++i;
    }
    tokens.push_back(text.substr(start, i - start));
    start = i;
  }
  return tokens;
}

}  // namespace gw::api
