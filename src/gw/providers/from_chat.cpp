#include "gw/providers/from_chat.hpp"

namespace gw::providers {

using namespace responses_json;

tl::expected<std::string, core::Error> FromChatTranslator::complete(std::string body) {
  auto chat = chat_->complete(std::move(body));
  if (!chat) {
    return chat;
  }
  dom::object completion;
  if (parse_object(*chat).get(completion) != simdjson::SUCCESS) {
    return tl::unexpected(protocol_error("the upstream's completion is not a JSON object"));
  }
  on_model(text_at(completion, "model"));
  if (dom::element usage;
      completion["usage"].get(usage) == simdjson::SUCCESS && usage.is_object()) {
    usage_ = read_chat_usage(usage);
  } else if (auto counts = chat_->completion_usage()) {
    take_usage(*counts);
  }
  const auto choice = first_choice(completion["choices"]);
  dom::object message;
  if (!choice || (*choice)["message"].get(message) != simdjson::SUCCESS) {
    return tl::unexpected(protocol_error("the upstream's completion has no message"));
  }
  return render_completion(*choice, message);
}

tl::expected<std::string_view, core::Error> FromChatTranslator::feed(std::string_view piece) {
  auto chat = chat_->feed(piece);
  if (!chat) {
    return chat;
  }
  start_output(out_, chat->size());
  sse_.feed_events(*chat, [&](const net::SseEvent& event) { on_chat_event(event.data); });
  if (failure_) {
    // The events made before the broken one stay in out_: final_error_event() sends them first
    // (the Responses API's sequence numbers must have no gap).
    return tl::unexpected(*failure_);
  }
  return std::string_view(out_);
}

const core::Error* FromChatTranslator::stream_error() const {
  if (const auto* error = chat_->stream_error()) {
    return error;
  }
  return upstream_error_ ? &*upstream_error_ : nullptr;
}

std::string FromChatTranslator::final_error_event(const core::Error& error) {
  if (!failure_) {
    out_.clear();
  }
  if (!closed_) {
    fail(error);
  }
  return out_;
}

void FromChatTranslator::on_chat_event(std::string_view data) {
  if (closed_ || failure_) {
    return;
  }
  if (data == "[DONE]") {
    close();
    return;
  }
  dom::object chunk;
  if (parse_object(data).get(chunk) != simdjson::SUCCESS) {
    failure_ = protocol_error("the upstream sent a stream event that is not a JSON object");
    return;
  }
  // One pass over the chunk's members (a lookup per field scans them all each time).
  std::string_view model;
  dom::element error;
  dom::element usage;
  dom::element choices;
  bool has_error = false;
  bool has_usage = false;
  bool has_choices = false;
  for (const auto field : chunk) {
    if (field.key == "model") {
      model = string_of(field.value);
    } else if (field.key == "error") {
      error = field.value;
      has_error = !error.is_null();
    } else if (field.key == "usage") {
      usage = field.value;
      has_usage = usage.is_object();
    } else if (field.key == "choices") {
      choices = field.value;
      has_choices = true;
    }
  }
  start(model);
  if (has_error) {
    // The chat stream's own final error event (a worker's, an upstream's).
    upstream_error_ = chunk_failure(error);
    fail(*upstream_error_);
    return;
  }
  if (has_usage) {
    usage_ = read_chat_usage(usage);
  }
  if (const auto choice = has_choices ? first_choice(dom::element(choices)) : std::nullopt) {
    on_choice(*choice);
  }
}

}  // namespace gw::providers
