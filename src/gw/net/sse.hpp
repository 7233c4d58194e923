#pragma once

#include <algorithm>
#include <string>
#include <string_view>

namespace gw::net {

struct SseEvent {
  std::string_view event;  // empty means "message"
  std::string_view data;   // data lines joined with '\n'
  std::string_view id;
  size_t end = 0;  // in the bytes of this feed(): just past the blank line that ended the event
};

// The first CR or LF at or after `pos` (npos if none): two memchr passes over the line, where
// std::string_view::find_first_of calls memchr on the set once per byte.
size_t find_line_end(std::string_view bytes, size_t pos);

// Incremental parser for text/event-stream (the WHATWG rules): lines end in CRLF, LF or CR, even
// when split across reads; ':' lines are comments; "data" lines accumulate; a blank line
// dispatches. Views passed to the callback are valid only during the call.
class SseParser {
 public:
  template <class OnEvent>
  void feed(std::string_view bytes, OnEvent&& on_event) {
    if (bytes.empty()) {
      return;  // keeps skip_lf_: a CR at the end of the last read still pairs with the next LF
    }
    size_t pos = 0;
    if (skip_lf_ && bytes.front() == '\n') {
      pos = 1;
    }
    skip_lf_ = false;
    while (pos < bytes.size()) {
      size_t eol = find_line_end(bytes, pos);
      if (eol == std::string_view::npos) {
        line_.append(bytes.substr(pos));
        return;
      }
      std::string_view line = bytes.substr(pos, eol - pos);
      if (!line_.empty()) {
        line_.append(line);
        line = line_;
      }
      if (bytes[eol] == '\r') {
        if (eol + 1 < bytes.size()) {
          pos = eol + (bytes[eol + 1] == '\n' ? 2 : 1);
        } else {
          skip_lf_ = true;
          pos = eol + 1;
        }
      } else {
        pos = eol + 1;
      }
      if (process_line(line)) {
        on_event(SseEvent{event_,
                          std::string_view(data_).substr(0, data_.empty() ? 0 : data_.size() - 1),
                          id_, pos});
        data_.clear();
        event_.clear();
      }
      line_.clear();
    }
  }

  // Like feed(), for bytes that end at an event's end (a relay cuts its reads there) while the
  // parser holds nothing partial: an event of one `data:` line ended by LF LF, the usual shape,
  // is dispatched as a view of `bytes`, without copying or a call per line; any other event goes
  // through feed().
  template <class OnEvent>
  void feed_events(std::string_view bytes, OnEvent&& on_event) {
    if (has_partial() || !event_.empty() || skip_lf_ ||
        bytes.find('\r') != std::string_view::npos) {
      return feed(bytes, on_event);
    }
    size_t pos = 0;
    while (pos < bytes.size()) {
      const size_t eol = bytes.find('\n', pos);
      const bool one_line =
          eol != std::string_view::npos && eol + 1 < bytes.size() && bytes[eol + 1] == '\n';
      std::string_view line = span(bytes, pos, std::min(eol, bytes.size()));
      if (one_line && line.starts_with("data:")) {
        pos = eol + 2;
        line.remove_prefix(line.size() > 5 && line[5] == ' ' ? 6 : 5);
        on_event(SseEvent{{}, line, id_, pos});
      } else if (one_line && line.starts_with(':')) {
        pos = eol + 2;  // a comment alone: nothing to dispatch
      } else if (const size_t named_end = named_event_end(bytes, pos, eol); named_end != 0) {
        // `event: <type>` then one `data:` line (Anthropic's, the Responses API's shape).
        std::string_view type = line;
        type.remove_prefix(6);  // "event:"
        type.remove_prefix(!type.empty() && type.front() == ' ' ? 1 : 0);
        std::string_view data = span(bytes, eol + 6, named_end - 2);
        data.remove_prefix(!data.empty() && data.front() == ' ' ? 1 : 0);
        pos = named_end;
        on_event(SseEvent{type, data, id_, pos});
      } else {
        // Several lines, another field, or unfinished: up to the blank line, the general way.
        const size_t blank = bytes.find("\n\n", pos);
        const size_t end = blank == std::string_view::npos ? bytes.size() : blank + 2;
        const size_t start = pos;
        feed(bytes.substr(start, end - start), [&](const SseEvent& event) {
          on_event(SseEvent{event.event, event.data, event.id, start + event.end});
        });
        pos = end;
      }
    }
  }

  // Bytes of an unfinished line or event are pending.
  bool has_partial() const { return !line_.empty() || !data_.empty(); }
  // How many: an unfinished line plus the data of an unfinished event.
  size_t buffered() const { return line_.size() + data_.size(); }
  void reset();

 private:
  // bytes[from, to), for to <= bytes.size(): what substr() gives, without its bounds check and
  // (in the long loops above, where the compiler does not inline it) its call.
  static std::string_view span(std::string_view bytes, size_t from, size_t to) {
    return {bytes.data() + from, to - from};
  }
  // Returns true when the line completes an event that should be dispatched.
  bool process_line(std::string_view line);
  // For feed_events: when the line at `pos` (ending at `eol`, an LF) is `event:...` and the next
  // line is `data:...` ended by a blank line, all in LFs, the end of that event (past its blank
  // line); else 0.
  static size_t named_event_end(std::string_view bytes, size_t pos, size_t eol) {
    if (eol == std::string_view::npos || bytes.compare(pos, 6, "event:") != 0 ||
        bytes.compare(eol + 1, 5, "data:") != 0) {
      return 0;
    }
    const size_t data_eol = bytes.find('\n', eol + 6);
    if (data_eol == std::string_view::npos || data_eol + 1 >= bytes.size() ||
        bytes[data_eol + 1] != '\n') {
      return 0;
    }
    return data_eol + 2;
  }

  std::string line_;  // an incomplete line carried over from the previous read
  std::string data_;  // accumulated data, each line followed by '\n'
  std::string event_;
  std::string id_;
  bool skip_lf_ = false;
};

}  // namespace gw::net
