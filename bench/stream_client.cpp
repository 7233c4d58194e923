// The benchmark's stream client: times SSE chat-completion streams one after another on one
// keep-alive connection, with blocking sockets and TCP_NODELAY, so that what it measures is the
// server's time to first token rather than a client's event loop.
//
//   stream-client HOST PORT MODEL COUNT
//
// Prints one JSON object: time to first token (request sent → first content delta received) and
// total time (→ end of the stream) percentiles in seconds, and the number of events seen.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

int connect_to(const char* host, int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  if (fd < 0 || ::inet_pton(AF_INET, host, &address.sin_addr) != 1 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    throw std::runtime_error(std::string("cannot connect to ") + host);
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

void send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) {
      throw std::runtime_error("send failed");
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
}

// Reads one chunked response and reports when its first content delta arrived. The body is
// de-chunked as it comes, so an event split across chunks or reads is still seen whole.
struct StreamResult {
  Clock::time_point first_token;
  size_t events = 0;
};

StreamResult read_stream(int fd, std::string& pending) {
  StreamResult result;
  std::string body;  // de-chunked bytes not yet scanned for events
  bool head_done = false;
  size_t chunk_left = 0;  // bytes left in the current chunk
  // Counts the complete events in `body` and notes when the first content delta arrived.
  auto scan_events = [&] {
    for (size_t end; (end = body.find("\n\n")) != std::string::npos;) {
      const std::string_view event(body.data(), end);
      if (event.starts_with("data:")) {
        ++result.events;
        if (result.first_token == Clock::time_point{} &&
            event.find("\"content\":\"") != std::string_view::npos &&
            event.find("\"content\":\"\"") == std::string_view::npos) {
          result.first_token = Clock::now();
        }
      }
      body.erase(0, end + 2);
    }
  };
  char buffer[16384];
  for (;;) {
    // Parse what is buffered.
    for (;;) {
      if (!head_done) {
        const size_t end = pending.find("\r\n\r\n");
        if (end == std::string::npos) {
          break;
        }
        if (pending.compare(0, 12, "HTTP/1.1 200") != 0) {
          throw std::runtime_error("stream answered: " + pending.substr(0, pending.find('\r')));
        }
        pending.erase(0, end + 4);
        head_done = true;
        continue;
      }
      if (chunk_left == 0) {
        const size_t line_end = pending.find("\r\n");
        if (line_end == std::string::npos) {
          break;
        }
        const size_t size = std::strtoul(pending.c_str(), nullptr, 16);
        if (size == 0) {
          if (pending.size() < line_end + 4) {
            break;  // the final CRLF has not arrived yet
          }
          pending.erase(0, line_end + 4);
          scan_events();
          return result;
        }
        pending.erase(0, line_end + 2);
        chunk_left = size + 2;  // the chunk's data and its CRLF
        continue;
      }
      const size_t take = std::min(chunk_left, pending.size());
      if (take == 0) {
        break;
      }
      body.append(pending, 0, take);
      pending.erase(0, take);
      chunk_left -= take;
      if (chunk_left == 0) {
        body.resize(body.size() - 2);  // the CRLF after the chunk's data
      }
    }
    scan_events();
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) {
      throw std::runtime_error("the connection closed mid-stream");
    }
    pending.append(buffer, static_cast<size_t>(n));
  }
}

double percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  const auto index =
      std::min(values.size() - 1, static_cast<size_t>(static_cast<double>(values.size()) * p));
  return values[index];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s HOST PORT MODEL COUNT\n", argv[0]);
    return 2;
  }
  const char* host = argv[1];
  const int port = std::atoi(argv[2]);
  const std::string model = argv[3];
  const int count = std::atoi(argv[4]);
  std::string words;
  for (int i = 0; i < 64; ++i) {
    words += (i ? " w" : "w") + std::to_string(i);
  }
  const std::string body = R"({"model":")" + model +
                           R"(","stream":true,"messages":[{"role":"user","content":")" + words +
                           R"("}]})";
  const std::string request =
      "POST /v1/chat/completions HTTP/1.1\r\nhost: " + std::string(host) +
      "\r\ncontent-type: application/json\r\ncontent-length: " + std::to_string(body.size()) +
      "\r\n\r\n" + body;
  try {
    const int fd = connect_to(host, port);
    std::vector<double> ttft;
    std::vector<double> total;
    size_t events = 0;
    std::string pending;
    for (int i = 0; i < count; ++i) {
      const auto start = Clock::now();
      send_all(fd, request);
      const StreamResult result = read_stream(fd, pending);
      const auto end = Clock::now();
      if (result.first_token == Clock::time_point{}) {
        throw std::runtime_error("a stream carried no content");
      }
      ttft.push_back(std::chrono::duration<double>(result.first_token - start).count());
      total.push_back(std::chrono::duration<double>(end - start).count());
      events += result.events;
    }
    ::close(fd);
    std::printf(R"({"ttft50":%.9f,"ttft99":%.9f,"total50":%.9f,"events":%zu})"
                "\n",
                percentile(ttft, 0.5), percentile(ttft, 0.99), percentile(total, 0.5), events);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "stream-client: %s\n", e.what());
    return 1;
  }
  return 0;
}
