// The single translation unit that compiles Asio's SSL support (separate compilation).
#include <boost/asio/ssl/impl/src.hpp>
