#include "gw/providers/ollama.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "sse_chunks.hpp"

namespace gw::providers {
namespace {

namespace json = boost::json;

tl::expected<json::object, core::Error> translate(std::string_view openai) {
  return ollama_request_from_openai(json::parse(openai).as_object(), "llama3:8b");
}

TEST(OllamaRequest, MessagesImagesOptionsAndFormat) {
  auto out = translate(R"({"model":"ollama/llama3","messages":[
      {"role":"developer","content":"Be brief."},
      {"role":"user","content":[{"type":"text","text":"What is this?"},
        {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}]}],
      "temperature":0.2,"top_p":0.9,"seed":42,"stop":"END","max_tokens":64,
      "response_format":{"type":"json_object"}})");
  ASSERT_TRUE(out.has_value()) << out.error().message;
  EXPECT_EQ(json::value(*out), json::parse(R"({"model":"llama3:8b","format":"json","stream":false,
      "options":{"temperature":0.2,"top_p":0.9,"seed":42,"stop":["END"],"num_predict":64},
      "messages":[{"role":"system","content":"Be brief."},
                  {"role":"user","content":"What is this?","images":["iVBORw0KGgo="]}]})"));
}

TEST(OllamaRequest, JsonSchemaToolsAndToolTurns) {
  auto out = translate(R"({"model":"m","stream":true,"messages":[
      {"role":"user","content":"Weather?"},
      {"role":"assistant","content":"","tool_calls":[{"id":"c1","type":"function",
        "function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},
      {"role":"tool","tool_call_id":"c1","content":"18C"}],
      "tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}],
      "response_format":{"type":"json_schema","json_schema":{"name":"w","schema":{"type":"object"}}}})");
  ASSERT_TRUE(out.has_value()) << out.error().message;
  EXPECT_EQ(out->at("format"), json::parse(R"({"type":"object"})"));
  EXPECT_EQ(out->at("stream"), true);
  EXPECT_EQ(out->at("tools").as_array()[0].at("function").at("name"), "get_weather");
  EXPECT_EQ(out->at("messages").as_array()[1], json::parse(R"({"role":"assistant","content":"",
      "tool_calls":[{"function":{"name":"get_weather","arguments":{"city":"Paris"}}}]})"));
  EXPECT_EQ(out->at("messages").as_array()[2], json::parse(R"({"role":"tool","content":"18C"})"));
}

TEST(OllamaRequest, RejectedFieldsAreNamed) {
  for (
      const auto& [field, body] : std::vector<std::pair<std::string, std::string>>{
          {"n", R"("n":3)"},
          {"logprobs", R"("logprobs":true)"},
          {"tool_choice", R"("tool_choice":"required")"},  // with no tools to call
          {"tool_choice", R"("tool_choice":{"type":"allowed_tools"})"},
          {"logit_bias", R"("logit_bias":{"1":1})"},
          {"logit_bias", R"("logit_bias":{})"},
          {"top_logprobs", R"("top_logprobs":0)"},
          {"user", R"("user":5)"},  // a string is accepted (and not sent: Ollama has no use)
          {"store", R"("store":true)"},
          {"metadata", R"("metadata":{"a":"1"})"},
          {"metadata", R"("metadata":{})"},
          {"parallel_tool_calls", R"("parallel_tool_calls":"no")"},
          {"some_new_field", R"("some_new_field":1)"},
          {"messages[0].content",
           R"("messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"","format":"wav"}}]}])"},
          {"messages[0].content",
           R"("messages":[{"role":"user","content":[{"type":"file","file":{"file_id":"f-1"}}]}])"},
          {"messages[0].content",
           R"("x":null,"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://e.com/a.png"}}]}])"},
      }) {
    std::string request =
        R"({"model":"m","messages":[{"role":"user","content":"x"}],)" + body + "}";
    if (body.find("\"messages\"") != std::string::npos) {
      request = R"({"model":"m",)" + body + "}";
    }
    auto out = translate(request);
    ASSERT_FALSE(out.has_value()) << body;
    EXPECT_EQ(core::http_status(out.error()), 400) << body;
    EXPECT_EQ(out.error().param, field) << body;
  }
}

const std::string kTwoTools =
    R"("tools":[{"type":"function","function":{"name":"a","parameters":{"type":"object",)"
    R"("properties":{"q":{"type":"string"}}}}},{"type":"function","function":{"name":"b"}}])";

TEST(OllamaRequest, ARequiredCallConstrainsTheFormatToACallOfAnyTool) {
  auto out = translate(R"({"model":"m","messages":[{"role":"user","content":"x"}],)" + kTwoTools +
                       R"(,"tool_choice":"required"})");
  ASSERT_TRUE(out.has_value()) << out.error().message;
  EXPECT_EQ(out->at("format"), json::parse(R"({"anyOf":[
      {"type":"object","properties":{"name":{"type":"string","enum":["a"]},
        "arguments":{"type":"object","properties":{"q":{"type":"string"}}}},
       "required":["name","arguments"]},
      {"type":"object","properties":{"name":{"type":"string","enum":["b"]},
        "arguments":{"type":"object"}},"required":["name","arguments"]}]})"));
  EXPECT_EQ(out->at("tools").as_array().size(), 2u);  // the model still reads what they do
}

TEST(OllamaRequest, ANamedCallConstrainsTheFormatToThatTool) {
  auto out = translate(R"({"model":"m","messages":[{"role":"user","content":"x"}],)" + kTwoTools +
                       R"(,"tool_choice":{"type":"function","function":{"name":"b"}}})");
  ASSERT_TRUE(out.has_value()) << out.error().message;
  EXPECT_EQ(out->at("format").at("properties").at("name"),
            json::parse(R"({"type":"string","enum":["b"]})"));
  EXPECT_EQ(ollama_tool_mode(json::parse(R"({"tool_choice":{"type":"function","function":)"
                                         R"({"name":"b"}}})")
                                 .as_object())
                .forced_call,
            true);
}

TEST(OllamaRequest, ToolChoiceNoneSendsNoToolsAndConflictsAreRefused) {
  auto none = translate(R"({"model":"m","messages":[{"role":"user","content":"x"}],)" + kTwoTools +
                        R"(,"tool_choice":"none"})");
  ASSERT_TRUE(none.has_value());
  EXPECT_FALSE(none->contains("tools"));
  for (const std::string extra :
       {R"(,"tool_choice":"required","response_format":{"type":"json_object"})",
        R"(,"tool_choice":{"type":"function","function":{"name":"c"}})"}) {
    auto out = translate(R"({"model":"m","messages":[{"role":"user","content":"x"}],)" + kTwoTools +
                         extra + "}");
    ASSERT_FALSE(out.has_value()) << extra;
    EXPECT_EQ(out.error().param, "tool_choice");
  }
}

TEST(OllamaResponse, AForcedCallsContentBecomesTheToolCall) {
  const std::string body =
      R"({"model":"m","message":{"role":"assistant","content":"{\"name\":\"a\",\"arguments\":{\"q\":\"x\"}}"},)"
      R"("done":true,"done_reason":"stop","prompt_eval_count":3,"eval_count":9})";
  auto out = openai_completion_from_ollama(body, {true, true});
  ASSERT_TRUE(out.has_value());
  const auto choice = json::parse(*out).at("choices").at(0);
  EXPECT_TRUE(choice.at("message").at("content").is_null());
  EXPECT_EQ(choice.at("message").at("tool_calls").at(0).at("function").at("name"), "a");
  EXPECT_EQ(
      json::parse(
          choice.at("message").at("tool_calls").at(0).at("function").at("arguments").as_string()),
      json::parse(R"({"q":"x"})"));
  EXPECT_EQ(choice.at("finish_reason"), "tool_calls");
  // Not forced: the same content is text.
  auto plain = openai_completion_from_ollama(body);
  EXPECT_TRUE(json::parse(*plain).at("choices").at(0).at("message").at("content").is_string());
}

TEST(OllamaResponse, OneCallKeepsTheFirst) {
  const std::string body =
      R"({"model":"m","message":{"role":"assistant","content":"","tool_calls":[)"
      R"({"function":{"name":"a","arguments":{}}},{"function":{"name":"b","arguments":{}}}]},"done":true})";
  auto out = openai_completion_from_ollama(body, {false, true});
  ASSERT_TRUE(out.has_value());
  const auto calls =
      json::parse(*out).at("choices").at(0).at("message").at("tool_calls").as_array();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].at("function").at("name"), "a");
}

TEST(OllamaStream, AForcedCallStreamsAsOneToolCallAtTheEnd) {
  auto translator = make_ollama_stream_translator(false, {true, true});
  const std::string lines =
      "{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"content\":\"{\\\"name\\\":\\\"a\\\","
      "\"},\"done\":false}\n"
      "{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"content\":\"\\\"arguments\\\":{}}\"},"
      "\"done\":false}\n"
      "{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"done\":true,\"done_"
      "reason\":\"stop\"}\n";
  auto out = translator->feed(lines);
  ASSERT_TRUE(out.has_value()) << out.error().message;
  std::string text(*out);
  EXPECT_EQ(text.find("\"content\""), std::string::npos) << text;
  EXPECT_NE(text.find(R"("tool_calls":[{"id":)"), std::string::npos) << text;
  EXPECT_NE(text.find(R"("arguments":"{}")"), std::string::npos) << text;
  EXPECT_NE(text.find(R"("finish_reason":"tool_calls")"), std::string::npos) << text;
  EXPECT_TRUE(translator->finished());
}

TEST(OllamaGenerate, ALegacyCompletionIsARawGenerate) {
  auto out = ollama_generate_from_openai(
      json::parse(R"({"model":"m","prompt":["Once"],"max_tokens":5,"temperature":0.1,"stop":"\n",)"
                  R"("n":1,"echo":false,"logprobs":null,"stream":true})")
          .as_object(),
      "llama3:8b");
  ASSERT_TRUE(out.has_value()) << out.error().message;
  EXPECT_EQ(json::value(*out), json::parse(R"({"model":"llama3:8b","raw":true,"stream":true,)"
                                           R"("prompt":"Once","options":{"num_predict":5,)"
                                           R"("temperature":0.1,"stop":["\n"]}})"));
  // Fill-in-the-middle needs the model's template.
  auto fim = ollama_generate_from_openai(
      json::parse(R"({"model":"m","prompt":"def f():","suffix":"return x"})").as_object(), "c");
  ASSERT_TRUE(fim.has_value());
  EXPECT_EQ(fim->at("raw"), false);
  EXPECT_EQ(fim->at("suffix"), "return x");
  for (const auto& [body, param] : std::vector<std::pair<std::string, std::string>>{
           {R"("prompt":["a","b"])", "prompt"},
           {R"("prompt":[1,2])", "prompt"},
           {R"("prompt":"a","best_of":3)", "best_of"},
           {R"("prompt":"a","logprobs":2)", "logprobs"},
           {R"("prompt":"a","user":"u")", "user"},
       }) {
    auto refused = ollama_generate_from_openai(json::parse("{" + body + "}").as_object(), "c");
    ASSERT_FALSE(refused.has_value()) << body;
    EXPECT_EQ(refused.error().param, param);
  }
}

TEST(OllamaRequest, NoOpValuesAreAcceptedAndSendNothing) {
  auto out = translate(R"({"model":"m","messages":[{"role":"user","content":"x"}],
      "tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"auto",
      "parallel_tool_calls":true,"n":1,"logprobs":false,"store":false,"top_logprobs":null,
      "user":null,"stream_options":{"include_usage":true}})");
  ASSERT_TRUE(out.has_value()) << out.error().message;
  EXPECT_EQ(json::value(*out), json::parse(R"({"model":"llama3:8b",
      "tools":[{"type":"function","function":{"name":"f"}}],"stream":false,
      "messages":[{"role":"user","content":"x"}]})"));
}

TEST(OllamaRequest, TokenLimitPenaltiesAndUnmergedTurns) {
  auto out = translate(R"({"model":"m","messages":[{"role":"user","content":"Hi"},
      {"role":"user","content":"there"}],"max_completion_tokens":77,
      "frequency_penalty":0.5,"presence_penalty":-1})");
  ASSERT_TRUE(out.has_value()) << out.error().message;
  EXPECT_EQ(out->at("options"), json::parse(R"({"num_predict":77,"frequency_penalty":0.5,
      "presence_penalty":-1})"));
  // Ollama takes consecutive same-role turns: they go through as sent.
  EXPECT_EQ(out->at("messages"), json::parse(R"([{"role":"user","content":"Hi"},
      {"role":"user","content":"there"}])"));
}

TEST(OllamaRequest, InvalidToolCallArgumentsAreRejectedByPlace) {
  auto out = translate(R"({"model":"m","messages":[{"role":"user","content":"x"},
      {"role":"assistant","tool_calls":[{"id":"c","type":"function",
        "function":{"name":"f","arguments":"not json"}}]}]})");
  ASSERT_FALSE(out.has_value());
  EXPECT_EQ(core::http_status(out.error()), 400);
  EXPECT_EQ(out.error().param, "messages[1].tool_calls[0].function.arguments");
}

TEST(OllamaResponse, ContentToolCallsDoneReasonUsage) {
  auto out =
      openai_completion_from_ollama(R"({"model":"llama3:8b","created_at":"2024-07-22T20:33:28Z",
      "message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"get_weather",
      "arguments":{"city":"Toronto"}}}]},"done":true,"done_reason":"stop",
      "prompt_eval_count":26,"eval_count":12})");
  ASSERT_TRUE(out.has_value());
  auto v = json::parse(*out).as_object();
  const auto& choice = v.at("choices").as_array()[0].as_object();
  EXPECT_EQ(choice.at("finish_reason"), "tool_calls");
  EXPECT_TRUE(choice.at("message").at("content").is_null());
  const auto& call = choice.at("message").at("tool_calls").as_array()[0].as_object();
  EXPECT_EQ(call.at("function").at("name"), "get_weather");
  EXPECT_EQ(json::parse(call.at("function").at("arguments").as_string()),
            json::parse(R"({"city":"Toronto"})"));
  EXPECT_TRUE(call.at("id").as_string().starts_with("call_"));
  EXPECT_EQ(v.at("usage"),
            json::parse(R"({"prompt_tokens":26,"completion_tokens":12,"total_tokens":38})"));
  auto length = openai_completion_from_ollama(
      R"({"model":"m","message":{"role":"assistant","content":"abc"},"done":true,"done_reason":"length"})");
  EXPECT_EQ(json::parse(*length).at("choices").as_array()[0].at("finish_reason"), "length");
}

TEST(OllamaStream, NdjsonToSseAtAnyPieceSize) {
  const std::string ndjson =
      R"({"model":"llama3","created_at":"2023-08-04T08:52:19Z","message":{"role":"assistant","content":"The"},"done":false})"
      "\n"
      R"({"model":"llama3","created_at":"2023-08-04T08:52:19Z","message":{"role":"assistant","content":" sky \u00e9"},"done":false})"
      "\n"
      R"({"model":"llama3","created_at":"2023-08-04T19:22:45Z","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","total_duration":4883583458,"prompt_eval_count":26,"eval_count":290})"
      "\n";
  for (size_t piece : {1u, 5u, 100000u}) {
    auto translator = make_ollama_stream_translator(true);
    std::string out;
    for (size_t i = 0; i < ndjson.size(); i += piece) {
      auto ready = translator->feed(std::string_view(ndjson).substr(i, piece));
      ASSERT_TRUE(ready.has_value());
      out += *ready;
    }
    ASSERT_TRUE(translator->finished());
    const auto chunks = testing::parse_sse_output(out).chunks;
    ASSERT_EQ(chunks.size(), 4u) << out;
    EXPECT_EQ(chunks[0].at("choices").as_array()[0].at("delta").at("role"), "assistant");
    EXPECT_EQ(chunks[0].at("choices").as_array()[0].at("delta").at("content"), "The");
    EXPECT_EQ(chunks[1].at("choices").as_array()[0].at("delta").at("content"), " sky \xC3\xA9");
    EXPECT_EQ(chunks[2].at("choices").as_array()[0].at("finish_reason"), "stop");
    EXPECT_EQ(chunks[3].at("usage").at("total_tokens"), 316);
    EXPECT_EQ(chunks[0].at("id"), chunks[3].at("id"));
    EXPECT_TRUE(out.ends_with("data: [DONE]\n\n"));
  }
}

TEST(OllamaStream, TextLinesAndOtherLinesMakeTheSameChunks) {
  // Text lines are read without a tree; the others (null members, no message, tool calls) as a
  // tree. The chunks are the same either way: each delta as OpenAI's, null taken as absent.
  const std::string ndjson =
      R"({"model":"m","message":{"role":"assistant","content":"a\"b","tool_calls":null},"error":null,"done":false})"
      "\n"
      R"({"model":"m","done":false})"
      "\n"
      R"({"model":"m","message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"f","arguments":{"x":1}}}]},"done":false})"
      "\n"
      R"({"model":"m","message":{"role":"assistant","content":"c"},"done":false})"
      "\n";
  auto translator = make_ollama_stream_translator(false);
  auto out = translator->feed(ndjson);
  ASSERT_TRUE(out.has_value());
  const auto chunks = testing::parse_sse_output(std::string(*out)).chunks;
  ASSERT_EQ(chunks.size(), 3u) << *out;
  const auto delta = [&](size_t i) {
    return chunks[i].at("choices").as_array()[0].at("delta").as_object();
  };
  EXPECT_EQ(json::serialize(delta(0)), R"({"role":"assistant","content":"a\"b"})");
  EXPECT_EQ(delta(1).at("tool_calls").as_array()[0].at("function").at("arguments"), R"({"x":1})");
  EXPECT_FALSE(delta(1).contains("role"));
  EXPECT_EQ(json::serialize(delta(2)), R"({"content":"c"})");
  EXPECT_EQ(chunks[0].at("model"), "m");
}

TEST(OllamaStream, AbsurdTokenCountsAreClampedNotOverflowed) {
  // The fuzzer's ollama_stream/crash-usage-sum-overflow: the sum overflowed int64 (UBSan).
  auto translator = make_ollama_stream_translator(true);
  auto out =
      translator->feed(R"({"model":"m","message":{"role":"assistant","content":""},"done":true,)"
                       R"("prompt_eval_count":9223372036854775807,"eval_count":-5})"
                       "\n");
  ASSERT_TRUE(out.has_value());
  const auto chunks = testing::parse_sse_output(std::string(*out)).chunks;
  ASSERT_FALSE(chunks.empty()) << *out;
  const auto& usage = chunks.back().at("usage");
  EXPECT_EQ(usage.at("prompt_tokens"), api::kMaxTokenCount);
  EXPECT_EQ(usage.at("completion_tokens"), 0);
  EXPECT_EQ(usage.at("total_tokens"), api::kMaxTokenCount);
}

TEST(OllamaStream, AnErrorLineIsTheStreamsErrorWithItsStatus) {
  auto translator = make_ollama_stream_translator(false);
  auto out = translator->feed("{\"error\":\"model is loading\"}\n");
  ASSERT_TRUE(out.has_value());
  EXPECT_TRUE(translator->finished());
  ASSERT_NE(translator->stream_error(), nullptr);
  EXPECT_EQ(core::http_status(*translator->stream_error()), 502);
  EXPECT_NE(out->find("model is loading"), std::string::npos);
}

TEST(OllamaStream, ReportsTheBytesOfAnUnfinishedLine) {
  auto translator = make_ollama_stream_translator(false);
  const std::string piece(1 << 16, ' ');
  ASSERT_TRUE(translator->feed("{\"message\":").has_value());
  for (int i = 0; i < 32; ++i) {
    ASSERT_TRUE(translator->feed(piece).has_value());
  }
  EXPECT_EQ(translator->buffered(), 11u + 32 * piece.size());
}

TEST(OllamaStream, ToolCallsAndErrors) {
  auto translator = make_ollama_stream_translator(false);
  auto out = translator->feed(
      R"({"model":"m","message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"a","arguments":{"x":1}}},{"function":{"name":"b","arguments":{}}}]},"done":false})"
      "\n"
      R"({"model":"m","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop"})"
      "\n");
  ASSERT_TRUE(out.has_value());
  EXPECT_NE(out->find(R"("tool_calls":[{"id":"call_)"), std::string::npos) << *out;
  EXPECT_NE(out->find(R"("index":1)"), std::string::npos);
  EXPECT_NE(out->find(R"("finish_reason":"tool_calls")"), std::string::npos);

  auto failing = make_ollama_stream_translator(false);
  auto error = failing->feed("{\"error\":\"model runner crashed\"}\n");
  ASSERT_TRUE(error.has_value());
  EXPECT_TRUE(failing->finished());
  EXPECT_NE(error->find("ollama: model runner crashed"), std::string::npos);
}

TEST(OllamaModels, TagsAndLatestAlias) {
  OllamaProvider provider({"ollama", *net::Endpoint::parse("http://h:11434")});
  auto models = provider.parse_models(
      R"({"models":[{"name":"llama3:latest","model":"llama3:latest","size":1},{"name":"qwen2:7b"}]})");
  ASSERT_TRUE(models.has_value());
  ASSERT_EQ(models->size(), 2u);
  EXPECT_EQ(provider.aliases("llama3:latest"), std::vector<std::string>{"llama3"});
  EXPECT_EQ(provider.models_request().path, "/api/tags");
  EXPECT_TRUE(provider.is_stream("application/x-ndjson"));
  EXPECT_FALSE(provider.is_stream("application/json; charset=utf-8"));
}

}  // namespace
}  // namespace gw::providers
