// The single translation unit that compiles Beast's non-template code (separate compilation).
#include <boost/beast/src.hpp>
