#pragma once

// Private to net/: the listener's TLS (TLS_CERT_FILE / TLS_KEY_FILE).

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <tl/expected.hpp>

namespace gw::net {

namespace asio = boost::asio;

// The server's certificate and key, read from their files; read again on SIGHUP. A connection
// keeps the context it was accepted with: a reload changes the certificate for new connections
// and drops none. TLS 1.2 and 1.3 only, ECDHE with AEAD ciphers (Mozilla's "intermediate"
// profile), ALPN "http/1.1".
class ServerTls {
 public:
  // Reads both files; the message names the file and what is wrong with it.
  static tl::expected<std::unique_ptr<ServerTls>, std::string> load(std::string cert_file,
                                                                    std::string key_file);

  std::shared_ptr<asio::ssl::context> context() const {
    std::lock_guard lock(mutex_);
    return context_;
  }
  // Reads the files again; on failure the context in use stays (the message says why).
  tl::expected<void, std::string> reload();

 private:
  ServerTls(std::string cert_file, std::string key_file)
      : cert_file_(std::move(cert_file)), key_file_(std::move(key_file)) {}

  const std::string cert_file_;
  const std::string key_file_;
  mutable std::mutex mutex_;
  std::shared_ptr<asio::ssl::context> context_;
};

}  // namespace gw::net
