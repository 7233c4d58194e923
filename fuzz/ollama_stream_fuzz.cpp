// Ollama's response translators (gw/providers/ollama.hpp): make_ollama_stream_translator, NDJSON
// stream lines in, OpenAI chat.completion.chunk events out, complete() on a whole /api/chat body,
// with the tool modes chosen from the input's hash (a forced call's content, one call kept); and
// one time in four the legacy completions translator, /api/generate's lines in, text_completion
// chunks out.
//
// Checks (fuzz/translator_check.hpp): no crash, sanitizer report or exception; each feed's
// output is whole SSE events, each a JSON object or the final [DONE]; nothing after the end;
// the same events (ids and timestamps aside), end and usage whether the input comes whole or in
// pieces; complete() returns an error or valid JSON.

#include <cstddef>
#include <cstdint>

#include "gw/providers/ollama.hpp"
#include "translator_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gw::fuzz;
  const std::string_view input = as_view(data, size);
  Random random(input);
  const bool include_usage = random.coin();
  const gw::providers::OllamaToolMode mode{random.coin(), random.coin()};
  if (random.between(0, 3) == 0) {
    // The legacy completions translator (/api/generate's NDJSON to text_completion chunks).
    static const gw::providers::OllamaProvider ollama({});
    static std::string body = R"({"model":"m","prompt":"x"})";
    gw::api::ChatRequestInfo info;
    info.include_usage = include_usage;
    check_translator(
        input,
        [&] {
          return ollama.completions_translator(
              gw::providers::ChatCall{body, info, "m", "fuzz", true}, {});
        },
        {}, true);
    return 0;
  }
  check_translator(
      input, [&] { return gw::providers::make_ollama_stream_translator(include_usage, mode); }, {},
      true);
  return 0;
}
