#include "gw/api/chunk_writer.hpp"

#include <fmt/format.h>

#include "gw/api/completion_json.hpp"
#include "gw/core/logging.hpp"

namespace gw::api {

void ChunkWriter::set_identity(std::string_view id, int64_t created, std::string_view model) {
  constexpr std::string_view kChoice = R"("choices":[{"index":0,"delta":)";
  // Sized once (escaping aside): growing by appends took four allocations per stream.
  identity_.clear();
  identity_.reserve(id.size() + model.size() + 96);
  identity_ += R"(data: {"id":")";
  core::append_json_escaped(identity_, id);
  identity_ += R"(","object":"chat.completion.chunk","created":)";
  const fmt::format_int created_text(created);
  identity_.append(created_text.data(), created_text.size());
  identity_ += R"(,"model":")";
  core::append_json_escaped(identity_, model);
  identity_ += R"(",)";
  choice_prefix_.reserve(identity_.size() + kChoice.size());
  choice_prefix_.assign(identity_).append(kChoice);
}

void ChunkWriter::ensure_identity() {
  if (identity_.empty()) {
    set_identity({}, unix_now(), {});  // no identity from a broken upstream
  }
}

void ChunkWriter::delta(std::string& out, std::string_view delta, std::string_view finish_reason) {
  ensure_identity();
  out += choice_prefix_;
  out += delta;
  close_choice(out, finish_reason);
}

void ChunkWriter::content(std::string& out, std::string_view text) {
  ensure_identity();
  out += choice_prefix_;
  out += R"({"content":")";
  core::append_json_escaped(out, text);
  out += R"("})";
  close_choice(out, {});
}

void ChunkWriter::close_choice(std::string& out, std::string_view finish_reason) {
  out += R"(,"logprobs":null,"finish_reason":)";
  if (finish_reason.empty()) {
    out += "null";
  } else {
    out += '"';
    out += finish_reason;
    out += '"';
  }
  out += "}]}\n\n";
}

void ChunkWriter::usage(std::string& out, const Usage& usage) {
  ensure_identity();
  out += identity_;
  out += R"("choices":[],"usage":)";
  append_usage_json(out, usage);
  out += "}\n\n";
}

}  // namespace gw::api
