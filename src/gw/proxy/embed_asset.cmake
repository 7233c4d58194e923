# Writes a C++ source defining `std::string_view gw::proxy::${FUNCTION}()` that returns the bytes
# of ${INPUT}: the dashboard's page is compiled into the binary, so it works offline.
# Run with: cmake -DINPUT=<file> -DOUTPUT=<file.cpp> -DFUNCTION=<name> -P embed_asset.cmake
file(READ "${INPUT}" content HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," bytes "${content}")
file(WRITE "${OUTPUT}.tmp"
  "// Generated at build time from ${INPUT}: edit that file, not this one.\n"
  "#include <string_view>\n"
  "namespace gw::proxy {\n"
  "namespace {\n"
  "constexpr char kBytes[] = {${bytes}};\n"
  "}  // namespace\n"
  "std::string_view ${FUNCTION}() { return {kBytes, sizeof(kBytes)}; }\n"
  "}  // namespace gw::proxy\n")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
