// The HTTP/1.1 message parser (RFC 9112) for requests and responses: start line, fields,
// content-length, chunked and close-delimited bodies, trailers. One file over 500 lines on
// purpose: it is one state machine, whose steps share the parser's state and limits, and each
// step's rules read best beside the others'.

#include "gw/net/http1_parser.hpp"

#include <algorithm>
#include <array>
#include <boost/beast/http/error.hpp>
#include <cstring>
#include <limits>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "gw/net/http_types.hpp"

namespace gw::net {

namespace {

using boost::beast::http::error;

// Character classes of RFC 9110/9112, one table lookup per byte.
enum CharClass : uint8_t {
  kToken = 1,   // tchar: field names, methods, transfer codings
  kValue = 2,   // field-value and reason-phrase bytes: HTAB, SP, VCHAR, obs-text
  kTarget = 4,  // request-target bytes: VCHAR and obs-text (no SP, no controls)
};

constexpr std::array<uint8_t, 256> kCharClasses = [] {
  std::array<uint8_t, 256> table{};
  for (int c = 0x21; c < 0x100; ++c) {
    if (c != 0x7f) {
      table[c] = kValue | kTarget;
    }
  }
  table[' '] = table['\t'] = kValue;
  for (unsigned char c : std::string_view("!#$%&'*+-.^_`|~")) {
    table[c] |= kToken;
  }
  for (int c = '0'; c <= '9'; ++c) {
    table[c] |= kToken;
  }
  for (int c = 'a'; c <= 'z'; ++c) {
    table[c] |= kToken;
    table[c - 'a' + 'A'] |= kToken;
  }
  return table;
}();

bool is(char c, CharClass kind) {
  return (kCharClasses[static_cast<unsigned char>(c)] & kind) != 0;
}

const char* skip(const char* p, CharClass kind) {
  while (is(*p, kind)) {
    ++p;
  }
  return p;
}

// The head is parsed from a copy padded with kPadding NUL bytes (a NUL stops every scan), so the
// scans below may read that far past any byte of it. A byte at a time, the scans were 70% of the
// parser's instructions.
constexpr size_t kPadding = 16;

// skip() eight bytes a time while all eight are of `kind`.
const char* skip_wide(const char* p, CharClass kind) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  const auto& t = kCharClasses;
  while ((t[u[0]] & t[u[1]] & t[u[2]] & t[u[3]] & t[u[4]] & t[u[5]] & t[u[6]] & t[u[7]] & kind) !=
         0) {
    u += 8;
  }
  return skip(reinterpret_cast<const char*>(u), kind);
}

// skip(p, kValue), sixteen bytes a time: stops at a control byte other than HTAB, or DEL.
const char* skip_value(const char* p) {
#if defined(__SSE2__)
  const __m128i space = _mm_set1_epi8(0x20);
  const __m128i minus_one = _mm_set1_epi8(-1);
  const __m128i tab = _mm_set1_epi8('\t');
  const __m128i del = _mm_set1_epi8(0x7f);
  for (;; p += 16) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    // Signed compares: bytes 0x80-0xff (obs-text) are negative, so not below 0x20 and >= 0.
    __m128i stop = _mm_and_si128(_mm_cmplt_epi8(x, space), _mm_cmpgt_epi8(x, minus_one));
    stop = _mm_andnot_si128(_mm_cmpeq_epi8(x, tab), stop);
    stop = _mm_or_si128(stop, _mm_cmpeq_epi8(x, del));
    if (const int mask = _mm_movemask_epi8(stop); mask != 0) {
      return p + __builtin_ctz(static_cast<unsigned>(mask));
    }
  }
#else
  return skip_wide(p, kValue);
#endif
}

// Whether the token `name` equals `lower` (lowercase letters, digits and '-') in any case. For
// token bytes, setting 0x20 lowercases letters and changes nothing that could then match.
bool token_equals(std::string_view name, std::string_view lower) {
  if (name.size() != lower.size()) {
    return false;
  }
  size_t i = 0;
  for (; i + 8 <= name.size(); i += 8) {
    uint64_t a = 0;
    uint64_t b = 0;
    std::memcpy(&a, name.data() + i, 8);
    std::memcpy(&b, lower.data() + i, 8);
    if ((a | 0x2020202020202020u) != b) {
      return false;
    }
  }
  for (; i < name.size(); ++i) {
    if ((name[i] | 0x20) != lower[i]) {
      return false;
    }
  }
  return true;
}

bool is_space(char c) {
  return c == ' ' || c == '\t';
}

// chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] ), a name a token and
// a value a token or a quoted-string (RFC 9112 §7.1.1), from `p` to the line's CR at `end`. No
// one sends extensions; they are held to the grammar (obs-text refused, no trailing BWS) because a
// proxy that reads them more loosely than the next hop ends the chunk line elsewhere.
bool valid_chunk_extensions(const char* p, const char* end) {
  const auto skip_bws = [end](const char* q) {
    while (q != end && is_space(*q)) {
      ++q;
    }
    return q;
  };
  while (p != end) {
    p = skip_bws(p);
    if (p == end || *p != ';') {
      return false;
    }
    p = skip_bws(p + 1);
    const char* name_end = skip(p, kToken);  // stops at the CR at the latest
    if (name_end == p) {
      return false;
    }
    p = name_end;
    const char* equals = skip_bws(p);
    if (equals == end || *equals != '=') {
      continue;  // no value: BWS then ';' or the end, checked above
    }
    p = skip_bws(equals + 1);
    if (p != end && *p == '"') {
      // quoted-string: qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E; quoted-pair = "\" then
      // HTAB / SP / VCHAR.
      for (++p;; ++p) {
        if (p == end) {
          return false;
        }
        const auto c = static_cast<unsigned char>(*p);
        if (c == '"') {
          ++p;
          break;
        }
        if (c == '\\') {
          ++p;
          if (p == end || !(is_space(*p) || (*p > 0x20 && *p < 0x7f))) {
            return false;
          }
        } else if (!(is_space(*p) || (c > 0x20 && c < 0x7f))) {
          return false;
        }
      }
    } else {
      const char* value_end = skip(p, kToken);
      if (value_end == p) {
        return false;
      }
      p = value_end;
    }
  }
  return true;
}

// Calls `each` with every non-empty element of a comma-separated list, without its OWS.
template <class Each>
void for_each_element(std::string_view list, Each&& each) {
  while (!list.empty()) {
    const size_t comma = list.find(',');
    std::string_view element = list.substr(0, comma);
    while (!element.empty() && is_space(element.front())) {
      element.remove_prefix(1);
    }
    while (!element.empty() && is_space(element.back())) {
      element.remove_suffix(1);
    }
    if (!element.empty()) {
      each(element);
    }
    if (comma == std::string_view::npos) {
      break;
    }
    list.remove_prefix(comma + 1);
  }
}

// The longest line a chunk header (size and extensions) may have.
constexpr size_t kMaxChunkLine = 4096;

// The head ends at the first empty line ("\n\r\n"; "\n\n" is taken too, for the line checks to
// reject). Nothing is consumed before it has arrived, and what was scanned (`scanned`) is not
// scanned again.
size_t head_end(const char* data, size_t size, size_t& scanned) {
  for (size_t i = scanned; i < size;) {
    const void* found = std::memchr(data + i, '\n', size - i);
    if (found == nullptr) {
      scanned = size;
      return 0;
    }
    i = static_cast<size_t>(static_cast<const char*>(found) - data);
    if (i + 1 < size && data[i + 1] == '\n') {
      return i + 2;
    }
    if (i + 2 >= size) {
      scanned = i;  // look at this line end again when more has come
      return 0;
    }
    if (data[i + 1] == '\r' && data[i + 2] == '\n') {
      return i + 3;
    }
    scanned = ++i;
  }
  return 0;
}

}  // namespace

std::string_view MessageHead::find(std::string_view name) const {
  for (const auto& [n, v] : fields_) {
    if (n.size == name.size() && iequals(view(n), name)) {
      return view(v);
    }
  }
  return {};
}

void MessageHead::clear() {
  // An unusually large head is not kept for the rest of the connection.
  constexpr size_t kKeptText = 8192;
  constexpr size_t kKeptFields = 64;
  if (text_.capacity() > kKeptText) {
    std::string().swap(text_);
  }
  if (fields_.capacity() > kKeptFields) {
    std::vector<std::pair<Span, Span>>().swap(fields_);
  }
  fields_.clear();
  method_ = {};
  target_ = {};
  status_ = 0;
}

Http1Parser::Http1Parser(bool request, MessageHead& head) : head_(head), request_(request) {
  head_.clear();
  if (request_) {
    body_limit_ = 1 << 20;
  }
}

bool Http1Parser::keep_alive() const {
  if (need_eof_) {
    return false;
  }
  return http11_ ? !close_ : keep_alive_;
}

size_t Http1Parser::put(const char* data, size_t size, error_code& ec) {
  ec = {};
  if (size > 0) {
    got_some_ = true;
  }
  size_t used = 0;
  if (state_ == State::kHead) {
    used = parse_head(data, size, ec);
    if (ec || state_ == State::kHead) {
      return used;
    }
  }
  return used + parse_body(data + used, size - used, ec);
}

void Http1Parser::put_eof(error_code& ec) {
  ec = {};
  switch (state_) {
    case State::kDone:
      return;
    case State::kUntilEof:
      state_ = State::kDone;
      return;
    case State::kHead:
      ec = got_some_ ? error::partial_message : error::end_of_stream;
      return;
    default:
      ec = error::partial_message;
  }
}

size_t Http1Parser::parse_head(const char* data, size_t size, error_code& ec) {
  size_t skipped = 0;
  if (request_ && head_scanned_ == 0) {
    // A server should ignore empty lines before a request line (RFC 9112 §2.2).
    while (size - skipped >= 2 && data[skipped] == '\r' && data[skipped + 1] == '\n') {
      skipped += 2;
    }
    skipped_ += skipped;
    if (skipped_ > header_limit_) {
      ec = error::header_limit;
      return skipped;
    }
    data += skipped;
    size -= skipped;
    if (size == 1 && data[0] == '\r') {
      ec = error::need_more;  // perhaps one more empty line: its '\n' has not come yet
      return skipped;
    }
  }
  const size_t end = head_end(data, size, head_scanned_);
  if (end == 0) {
    ec = size > header_limit_ ? error::header_limit : error::need_more;
    return skipped;
  }
  if (end > header_limit_) {
    ec = error::header_limit;
    return skipped;
  }
  head_.text_.assign(data, end);
  head_.text_.append(kPadding, '\0');
  const char* p = head_.text_.data();
  if (!parse_start_line(p, ec)) {
    return skipped;
  }
  while (!(p[0] == '\r' && p[1] == '\n')) {
    if (!parse_field(p, ec)) {
      return skipped;
    }
  }
  if (!frame_body(ec)) {
    return skipped;
  }
  return skipped + end;
}

bool Http1Parser::parse_start_line(const char*& p, error_code& ec) {
  return request_ ? parse_request_line(p, ec) : parse_status_line(p, ec);
}

MessageHead::Span Http1Parser::span_of(const char* begin, const char* end) const {
  const char* const text = head_.text_.data();
  return {static_cast<uint32_t>(begin - text), static_cast<uint32_t>(end - begin)};
}

bool Http1Parser::read_version(const char* v) {
  if (std::memcmp(v, "HTTP/1.", 7) != 0 || v[7] < '0' || v[7] > '9') {
    return false;
  }
  http11_ = v[7] != '0';
  return true;
}

bool Http1Parser::parse_request_line(const char*& p, error_code& ec) {
  const char* method_end = skip_wide(p, kToken);
  if (method_end == p || *method_end != ' ') {
    ec = error::bad_method;
    return false;
  }
  const char* target = method_end + 1;
  const char* target_end = skip_wide(target, kTarget);
  if (target_end == target || *target_end != ' ') {
    ec = error::bad_target;
    return false;
  }
  if (!read_version(target_end + 1)) {
    ec = error::bad_version;
    return false;
  }
  if (target_end[9] != '\r' || target_end[10] != '\n') {
    ec = error::bad_line_ending;
    return false;
  }
  head_.method_ = span_of(p, method_end);
  head_.target_ = span_of(target, target_end);
  p = target_end + 11;
  return true;
}

bool Http1Parser::parse_status_line(const char*& p, error_code& ec) {
  if (!read_version(p)) {
    ec = error::bad_version;
    return false;
  }
  const char* code = p + 8;
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (*code != ' ' || !digit(code[1]) || !digit(code[2]) || !digit(code[3])) {
    ec = error::bad_status;
    return false;
  }
  head_.status_ = (code[1] - '0') * 100 + (code[2] - '0') * 10 + (code[3] - '0');
  const char* reason_end = code + 4;
  if (*reason_end == ' ') {  // the reason phrase may be empty or, with its space, absent
    reason_end = skip_value(reason_end);
  }
  if (reason_end[0] != '\r' || reason_end[1] != '\n') {
    ec = error::bad_reason;
    return false;
  }
  p = reason_end + 2;
  return true;
}

bool Http1Parser::parse_field(const char*& p, error_code& ec) {
  const char* name_end = skip_wide(p, kToken);
  // An empty name is also how an obs-fold continuation line (leading whitespace) is refused.
  if (name_end == p || *name_end != ':') {
    ec = error::bad_field;
    return false;
  }
  const char* value = name_end + 1;
  while (is_space(*value)) {
    ++value;
  }
  const char* line_end = skip_value(value);
  if (line_end[0] != '\r' || line_end[1] != '\n') {
    ec = *line_end == '\r' || *line_end == '\n' ? error::bad_line_ending : error::bad_value;
    return false;
  }
  const char* value_end = line_end;
  while (value_end > value && is_space(value_end[-1])) {
    --value_end;
  }
  const std::string_view name(p, static_cast<size_t>(name_end - p));
  const std::string_view field_value(value, static_cast<size_t>(value_end - value));
  head_.fields_.emplace_back(span_of(p, name_end), span_of(value, value_end));
  p = line_end + 2;

  // The framing fields. Lengths first: most names are none of them.
  switch (name.size()) {
    case 4:
      if (token_equals(name, "host")) {
        ++hosts_;
      }
      return true;
    case 10:
      if (token_equals(name, "connection")) {
        for_each_element(field_value, [this](std::string_view token) {
          if (iequals(token, "close")) {
            close_ = true;
          } else if (iequals(token, "keep-alive")) {
            keep_alive_ = true;
          }
        });
      }
      return true;
    case 14:
      return !token_equals(name, "content-length") || note_content_length(field_value, ec);
    case 17:
      return !token_equals(name, "transfer-encoding") || note_transfer_encoding(field_value, ec);
    default:
      return true;
  }
}

bool Http1Parser::note_content_length(std::string_view value, error_code& ec) {
  if (content_length_) {
    ec = error::multiple_content_length;
    return false;
  }
  uint64_t length = 0;
  for (char c : value) {
    if (c < '0' || c > '9' || length > (std::numeric_limits<uint64_t>::max() - 9) / 10) {
      ec = error::bad_content_length;
      return false;
    }
    length = length * 10 + static_cast<uint64_t>(c - '0');
  }
  if (value.empty()) {
    ec = error::bad_content_length;
    return false;
  }
  content_length_ = length;
  return true;
}

bool Http1Parser::note_transfer_encoding(std::string_view value, error_code& ec) {
  coded_ = true;
  // A field with no coding at all is refused: Beast refuses it, and a hop that reads it as "no
  // transfer coding" would frame the message differently.
  bool bad = false;
  bool any = false;
  for_each_element(value, [this, &bad, &any](std::string_view coding) {
    any = true;
    // "chunked" takes no parameters: "chunked;q=1" is some other coding, not chunked.
    const bool is_chunked = iequals(coding, "chunked");
    // Chunked must be the last coding, once; a request may use no other (nothing here would
    // decode it). A response whose codings do not end with chunked ends at close.
    if ((is_chunked && chunked_) || (request_ && (chunked_ || !is_chunked))) {
      bad = true;
    }
    chunked_ = is_chunked;
  });
  if (bad || !any) {
    ec = error::bad_transfer_encoding;
    return false;
  }
  return true;
}

bool Http1Parser::frame_body(error_code& ec) {
  auto fixed_length = [this, &ec](uint64_t length) {
    if (body_limit_ && length > *body_limit_) {
      ec = error::body_limit;
      return false;
    }
    remain_ = length;
    state_ = length > 0 ? State::kLength : State::kDone;
    // Room for a usual body at once; a large one grows as its bytes arrive (a Content-Length
    // alone must not make the gateway allocate it).
    if (body_string_ != nullptr) {
      body_string_->reserve(static_cast<size_t>(std::min<uint64_t>(length, kReservedBody)));
    }
    return true;
  };
  if (request_) {
    // RFC 9112 §3.2: an HTTP/1.1 request has exactly one Host header.
    if (http11_ && hosts_ != 1) {
      ec = error::bad_field;
      return false;
    }
    if (coded_) {
      // Both headers: two parsers may frame this differently (request smuggling).
      if (content_length_ || !chunked_) {
        ec = error::bad_transfer_encoding;
        return false;
      }
      // HTTP/1.0 has no transfer codings: a recipient that ignores this one would frame the
      // message differently, so the connection ends with it (RFC 9112 §6.1).
      need_eof_ = !http11_;
      state_ = State::kChunkSize;
      return true;
    }
    return fixed_length(content_length_.value_or(0));
  }
  const int status = head_.status_;
  if (skip_body_ || (status >= 100 && status < 200) || status == 204 || status == 304) {
    state_ = State::kDone;
    return true;
  }
  if (coded_) {
    // Transfer-encoding overrides content-length; such a connection is not reused.
    need_eof_ = content_length_.has_value() || !chunked_;
    content_length_.reset();
    state_ = chunked_ ? State::kChunkSize : State::kUntilEof;
    return true;
  }
  if (content_length_) {
    return fixed_length(*content_length_);
  }
  need_eof_ = true;
  state_ = State::kUntilEof;
  return true;
}

size_t Http1Parser::deliver(const char* data, size_t size) {
  if (body_string_ != nullptr) {
    body_string_->append(data, size);
    return size;
  }
  const size_t n = std::min(size, body_room_);
  if (n > 0) {
    std::memcpy(body_data_, data, n);
    body_data_ += n;
    body_room_ -= n;
  }
  return n;
}

size_t Http1Parser::parse_body(const char* data, size_t size, error_code& ec) {
  size_t used = 0;
  // Copies up to `limit` body bytes; returns how many went (fewer when the buffer is full).
  auto take = [&](uint64_t limit) {
    const size_t wanted = static_cast<size_t>(std::min<uint64_t>(size - used, limit));
    const size_t n = deliver(data + used, wanted);
    used += n;
    body_size_ += n;
    if (n < wanted) {
      ec = error::need_buffer;
    }
    return n;
  };
  while (used < size && !ec) {
    switch (state_) {
      case State::kLength:
      case State::kChunkData:
        remain_ -= take(remain_);
        if (remain_ == 0) {
          state_ = state_ == State::kLength ? State::kDone : State::kChunkEnd;
        }
        break;
      case State::kUntilEof:
        if (body_limit_ && body_size_ + (size - used) > *body_limit_) {
          ec = error::body_limit;
          return used;
        }
        take(size - used);
        break;
      case State::kChunkEnd:
        used += parse_chunk_end(data + used, size - used, ec);
        break;
      case State::kChunkSize:
      case State::kTrailer: {
        // Both take whole lines: nothing consumed and no error means the line has not all come.
        const size_t n = state_ == State::kChunkSize
                             ? parse_chunk_size(data + used, size - used, ec)
                             : parse_trailer(data + used, size - used, ec);
        if (n == 0 && !ec) {
          ec = error::need_more;
        }
        used += n;
        break;
      }
      case State::kHead:
      case State::kDone:
        return used;
    }
    if (state_ == State::kDone) {
      return used;
    }
  }
  if (!ec && state_ != State::kDone) {
    ec = error::need_more;
  }
  return used;
}

// The CRLF after a chunk's data; 0 (with `ec` set) when it has not all come or is not one.
size_t Http1Parser::parse_chunk_end(const char* data, size_t size, error_code& ec) {
  if (size < 2) {
    ec = error::need_more;
    return 0;
  }
  if (data[0] != '\r' || data[1] != '\n') {
    ec = error::bad_chunk;
    return 0;
  }
  state_ = State::kChunkSize;
  return 2;
}

// chunk-size [ chunk-ext ] CRLF: extensions are checked (valid_chunk_extensions) and ignored.
size_t Http1Parser::parse_chunk_size(const char* data, size_t size, error_code& ec) {
  const void* found = std::memchr(data, '\n', std::min(size, kMaxChunkLine));
  if (found == nullptr) {
    if (size >= kMaxChunkLine) {
      ec = error::bad_chunk;
    }
    return 0;
  }
  const char* line_end = static_cast<const char*>(found);  // at '\n'
  if (line_end == data || line_end[-1] != '\r') {
    ec = error::bad_line_ending;
    return 0;
  }
  const char* p = data;
  uint64_t chunk = 0;
  for (;; ++p) {
    int digit = 0;
    if (*p >= '0' && *p <= '9') {
      digit = *p - '0';
    } else if ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'f') {
      digit = (*p | 0x20) - 'a' + 10;
    } else {
      break;
    }
    if (chunk > (std::numeric_limits<uint64_t>::max() >> 4)) {
      ec = error::bad_chunk;
      return 0;
    }
    chunk = chunk << 4 | static_cast<uint64_t>(digit);
  }
  if (p == data) {
    ec = error::bad_chunk;
    return 0;
  }
  if (!valid_chunk_extensions(p, line_end - 1)) {
    ec = error::bad_chunk_extension;
    return 0;
  }
  if (chunk == 0) {
    state_ = State::kTrailer;
  } else {
    // body_size_ never exceeds the limit, and the subtraction cannot wrap as a sum could.
    if (body_limit_ && chunk > *body_limit_ - body_size_) {
      ec = error::body_limit;
      return 0;
    }
    remain_ = chunk;
    state_ = State::kChunkData;
  }
  return static_cast<size_t>(line_end + 1 - data);
}

// The trailer section after the last chunk: field lines, then an empty line. Checked like
// header fields (within the head's limit) and dropped.
size_t Http1Parser::parse_trailer(const char* data, size_t size, error_code& ec) {
  const void* found = std::memchr(data, '\n', size);
  if (found == nullptr) {
    if (trailer_bytes_ + size > header_limit_) {
      ec = error::header_limit;
    }
    return 0;
  }
  const char* line_end = static_cast<const char*>(found);
  const size_t length = static_cast<size_t>(line_end + 1 - data);
  trailer_bytes_ += length;
  if (trailer_bytes_ > header_limit_) {
    ec = error::header_limit;
    return 0;
  }
  if (line_end == data || line_end[-1] != '\r') {
    ec = error::bad_line_ending;
    return 0;
  }
  if (length == 2) {
    state_ = State::kDone;
    return length;
  }
  const char* name_end = skip(data, kToken);
  if (name_end == data || *name_end != ':' || skip(name_end + 1, kValue) != line_end - 1) {
    ec = error::bad_field;
    return 0;
  }
  // Fields that frame, route or end the message belong in the head (RFC 9110 §6.5.1): a hop
  // that merged them would read the message differently from this one, so they are refused.
  const std::string_view name(data, static_cast<size_t>(name_end - data));
  for (std::string_view framing : {"content-length", "transfer-encoding", "connection", "host"}) {
    if (iequals(name, framing)) {
      ec = error::bad_field;
      return 0;
    }
  }
  return length;
}

}  // namespace gw::net
