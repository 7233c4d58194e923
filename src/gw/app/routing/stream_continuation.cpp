#include "gw/app/routing/stream_continuation.hpp"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "gw/api/usage.hpp"

namespace gw::app {
namespace json = boost::json;

namespace {

// One `data:` event (a multi-line data field as several lines).
void append_event(std::string& out, std::string_view data) {
  out += "data: ";
  for (const char c : data) {
    if (c == '\n') {
      out += "\ndata: ";
    } else {
      out += c;
    }
  }
  out += "\n\n";
}

json::object* object_at(json::object& object, std::string_view key) {
  auto* found = object.if_contains(key);
  return found != nullptr ? found->if_object() : nullptr;
}

bool is_null_or_empty(const json::value& value) {
  return value.is_null() || (value.is_string() && value.get_string().empty());
}

// A chunk that says nothing once its role is gone: the next attempt's opening chunk.
bool says_nothing(json::object& chunk) {
  auto* choices = chunk.if_contains("choices");
  if (choices == nullptr || !choices->is_array() || choices->get_array().size() != 1) {
    return false;
  }
  const auto* usage = chunk.if_contains("usage");
  if (usage != nullptr && !usage->is_null()) {
    return false;
  }
  auto* choice = choices->get_array()[0].if_object();
  if (choice == nullptr) {
    return false;
  }
  const auto* finish = choice->if_contains("finish_reason");
  if (finish != nullptr && !finish->is_null()) {
    return false;
  }
  json::object* delta = object_at(*choice, "delta");
  return delta != nullptr &&
         std::all_of(delta->begin(), delta->end(), [](const json::key_value_pair& member) {
           return is_null_or_empty(member.value());
         });
}

// Counts are bounded (api::sane_token_count: an upstream's huge count must not overflow the sum)
// and read only as integers (Boost.JSON's to_number throws on 12.5 or 1e20).

bool is_int(const json::value* value, int64_t expected) {
  return value != nullptr && value->is_int64() && value->get_int64() == expected;
}

void add_tokens(json::object& usage, std::string_view key, int64_t carried) {
  if (auto* count = usage.if_contains(key); count != nullptr && count->is_int64()) {
    *count = api::sane_token_count(count->get_int64()) + carried;
  }
}

// What the client's stream so far holds: the partial answer's text, its first chunk's identity,
// and whether it can be continued at all.
struct Partial {
  std::string text;
  json::value id, created, model;
  bool continuable = true;
  bool role_seen = false;  // the client has its role chunk (else the next attempt's gives it)

  void read(std::string_view data) {
    if (data == "[DONE]") {
      continuable = false;  // it had ended: nothing to continue
      return;
    }
    boost::system::error_code ec;
    json::value value = json::parse(data, ec);
    auto* chunk = value.if_object();
    if (ec || chunk == nullptr || chunk->contains("error")) {
      continuable = false;  // not a chunk: an upstream's error event, or something unknown
      return;
    }
    if (id.is_null()) {
      if (auto* found = chunk->if_contains("id")) {
        id = *found;
      }
      if (auto* found = chunk->if_contains("created")) {
        created = *found;
      }
      if (auto* found = chunk->if_contains("model")) {
        model = *found;
      }
    }
    const auto* choices = chunk->if_contains("choices");
    if (choices == nullptr || !choices->is_array()) {
      return;
    }
    for (const auto& entry : choices->get_array()) {
      read_choice(entry);
    }
  }

  void read_choice(const json::value& entry) {
    const auto* choice = entry.if_object();
    if (choice == nullptr) {
      continuable = false;
      return;
    }
    const auto* index = choice->if_contains("index");
    const auto* finish = choice->if_contains("finish_reason");
    if ((index != nullptr && !is_int(index, 0)) || (finish != nullptr && !finish->is_null())) {
      continuable = false;  // several choices, or the answer had finished
      return;
    }
    const auto* delta_value = choice->if_contains("delta");
    const auto* delta = delta_value != nullptr ? delta_value->if_object() : nullptr;
    if (delta == nullptr) {
      return;
    }
    for (const auto& member : *delta) {
      const std::string_view key = member.key();
      if (key == "role") {
        role_seen = true;
      } else if (key == "content" && member.value().is_string()) {
        text += member.value().get_string();
      } else if ((key == "tool_calls" || key == "function_call") && !member.value().is_null()) {
        continuable = false;  // a call half made cannot be prefilled
      }
    }
  }
};

// Whether every line of `bytes` is a comment (or blank): a keep-alive, passed on as it is.
bool only_comments(std::string_view bytes) {
  if (!bytes.empty() && bytes.front() != ':' && bytes.front() != '\n' && bytes.front() != '\r') {
    return false;  // the usual answer: an event
  }
  size_t pos = 0;
  while (pos < bytes.size()) {
    const size_t end = net::find_line_end(bytes, pos);
    const std::string_view line =
        bytes.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    if (!line.empty() && line.front() != ':') {
      return false;
    }
    if (end == std::string_view::npos) {
      break;
    }
    pos = end + 1;
  }
  return true;
}

}  // namespace

void StreamContinuation::record(std::string_view bytes) {
  event_sent_ = event_sent_ || !only_comments(bytes);
  if (mode_ != Mode::kContinue || overflowed_) {
    return;
  }
  if (recorded_.size() + bytes.size() > kMaxRecorded) {
    overflowed_ = true;
    recorded_ = std::string();
    return;
  }
  recorded_ += bytes;
}

void StreamContinuation::carry_usage(int64_t prompt_tokens, int64_t completion_tokens) {
  prompt_tokens_ += api::sane_token_count(prompt_tokens);
  completion_tokens_ += api::sane_token_count(completion_tokens);
}

std::optional<std::string> StreamContinuation::next_body(std::string_view original) {
  if (!event_sent_) {
    resuming_ = true;
    return std::string();  // nothing to continue: the request as it was, the stream as it comes
  }
  if (mode_ != Mode::kContinue || overflowed_) {
    return std::nullopt;
  }
  Partial partial;
  net::SseParser parser;
  parser.feed(recorded_, [&](const net::SseEvent& event) {
    if (partial.continuable) {
      partial.read(event.data);
    }
  });
  boost::system::error_code ec;
  json::value request = json::parse(original, ec);
  auto* object = request.if_object();
  auto* messages = object != nullptr ? object->if_contains("messages") : nullptr;
  const auto* n = object != nullptr ? object->if_contains("n") : nullptr;
  if (!partial.continuable || ec || messages == nullptr || !messages->is_array() ||
      (n != nullptr && !is_int(n, 1))) {
    return std::nullopt;
  }
  if (!rewriting_) {
    rewriting_ = std::make_unique<Rewriting>(
        Rewriting{std::move(partial.id), std::move(partial.created), std::move(partial.model), {}});
  }
  rewriting_->parser = {};  // the next attempt's events, from their start
  resuming_ = true;
  // Nothing but keep-alive comments reached the client: the next attempt's role chunk is its
  // first (a chained break keeps the first one's).
  drop_roles_ = drop_roles_ || partial.role_seen;
  if (partial.text.empty()) {
    return std::string();  // nothing was said yet: the request goes again as it was
  }
  messages->get_array().push_back(json::object{{"role", "assistant"}, {"content", partial.text}});
  if (!instruction_.empty()) {
    messages->get_array().push_back(json::object{{"role", "user"}, {"content", instruction_}});
  }
  return json::serialize(request);
}

std::string StreamContinuation::rewrite(std::string_view bytes) {
  if (!rewriting_ || only_comments(bytes)) {
    return std::string(bytes);
  }
  std::string out;
  out.reserve(bytes.size());
  rewriting_->parser.feed(bytes,
                          [&](const net::SseEvent& event) { append_rewritten(out, event.data); });
  return out;
}

void StreamContinuation::append_rewritten(std::string& out, std::string_view data) const {
  boost::system::error_code ec;
  json::value value = data == "[DONE]" ? json::value() : json::parse(data, ec);
  auto* chunk = value.if_object();
  if (ec || chunk == nullptr || chunk->contains("error")) {
    append_event(out, data);
    return;
  }
  auto keep = [&](std::string_view key, const json::value& first) {
    if (auto* found = chunk->if_contains(key); found != nullptr && !first.is_null()) {
      *found = first;
    }
  };
  keep("id", rewriting_->id);
  keep("created", rewriting_->created);
  keep("model", rewriting_->model);
  auto* choices = drop_roles_ ? chunk->if_contains("choices") : nullptr;
  if (choices != nullptr && choices->is_array()) {
    for (auto& choice : choices->get_array()) {
      if (auto* fields = choice.if_object()) {
        if (json::object* delta = object_at(*fields, "delta")) {
          delta->erase("role");
        }
      }
    }
  }
  if (drop_roles_ && says_nothing(*chunk)) {
    return;
  }
  if (json::object* usage = object_at(*chunk, "usage")) {
    add_tokens(*usage, "prompt_tokens", prompt_tokens_);
    add_tokens(*usage, "completion_tokens", completion_tokens_);
    add_tokens(*usage, "total_tokens", prompt_tokens_ + completion_tokens_);
  }
  append_event(out, json::serialize(value));
}

}  // namespace gw::app
