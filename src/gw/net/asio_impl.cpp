// The single translation unit that compiles Asio's non-template code (separate compilation).
#include <boost/asio/impl/src.hpp>
