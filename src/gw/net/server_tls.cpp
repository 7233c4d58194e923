#include "gw/net/server_tls.hpp"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <array>

namespace gw::net {
namespace {

namespace ssl = asio::ssl;

// TLS 1.2's ciphers of Mozilla's "intermediate" configuration (TLS 1.3's are OpenSSL's own).
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// The server speaks HTTP/1.1 only: it selects that when the client offers it, and otherwise
// goes on without ALPN (a client that offers only h2 then fails as it would against any
// HTTP/1.1-only server).
int select_http11(SSL* /*ssl*/, const unsigned char** out, unsigned char* out_length,
                  const unsigned char* offered, unsigned int offered_length, void* /*arg*/) {
  static constexpr std::array<unsigned char, 9> kHttp11{8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, out_length, kHttp11.data(), kHttp11.size(), offered,
                            offered_length) != OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_NOACK;
  }
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

std::string openssl_reason(const boost::system::error_code& ec) {
  std::string reason = ec.message();
  return reason.empty() ? "unreadable" : reason;
}

tl::expected<std::shared_ptr<ssl::context>, std::string> build(const std::string& cert_file,
                                                               const std::string& key_file) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = context->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(
      native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_cipher_list(native, kTls12Ciphers);
  SSL_CTX_set_alpn_select_cb(native, &select_http11, nullptr);
  boost::system::error_code ec;
  context->use_certificate_chain_file(cert_file, ec);
  if (ec) {
    return tl::unexpected(
        fmt::format("TLS_CERT_FILE '{}': not a readable PEM certificate chain ({})", cert_file,
                    openssl_reason(ec)));
  }
  context->use_private_key_file(key_file, ssl::context::pem, ec);
  if (ec && ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == X509_R_KEY_VALUES_MISMATCH) {
    return tl::unexpected(
        fmt::format("TLS_KEY_FILE '{}' is not the key of TLS_CERT_FILE '{}'", key_file, cert_file));
  }
  if (ec) {
    return tl::unexpected(fmt::format("TLS_KEY_FILE '{}': not a readable PEM private key ({})",
                                      key_file, openssl_reason(ec)));
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    ERR_clear_error();
    return tl::unexpected(
        fmt::format("TLS_KEY_FILE '{}' is not the key of TLS_CERT_FILE '{}'", key_file, cert_file));
  }
  return context;
}

}  // namespace

tl::expected<std::unique_ptr<ServerTls>, std::string> ServerTls::load(std::string cert_file,
                                                                      std::string key_file) {
  std::unique_ptr<ServerTls> tls(new ServerTls(std::move(cert_file), std::move(key_file)));
  if (auto loaded = tls->reload(); !loaded) {
    return tl::unexpected(loaded.error());
  }
  return tls;
}

tl::expected<void, std::string> ServerTls::reload() {
  auto context = build(cert_file_, key_file_);
  if (!context) {
    return tl::unexpected(context.error());
  }
  std::lock_guard lock(mutex_);
  context_ = std::move(*context);
  return {};
}

}  // namespace gw::net
