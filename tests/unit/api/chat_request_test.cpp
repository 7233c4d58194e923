#include "gw/api/chat_request.hpp"

#include <gtest/gtest.h>

#include "gw/api/chunk_writer.hpp"
#include "gw/api/completion_json.hpp"

namespace gw::api {
namespace {

tl::expected<ChatRequestInfo, core::Error> inspect(std::string body) {
  return inspect_chat_request(body);
}

TEST(InspectChatRequest, ReadsRoutingFieldsAndModelPosition) {
  std::string body =
      R"({"messages":[{"role":"user","content":"hi"}], "model" : "openai/gpt-4o" ,)"
      R"("stream":true,"stream_options":{"include_usage":true},"tools":[{"type":"function"}]})";
  auto info = inspect_chat_request(body);
  ASSERT_TRUE(info.has_value()) << info.error().message;
  EXPECT_EQ(info->model, "openai/gpt-4o");
  EXPECT_TRUE(info->stream);
  EXPECT_TRUE(info->include_usage);
  EXPECT_EQ(body.substr(info->model_begin, info->model_end - info->model_begin),
            "\"openai/gpt-4o\"");
}

TEST(InspectChatRequest, EscapedModelToken) {
  std::string body = R"({"model":"a\"b\\","messages":[{"role":"user","content":"x"}]})";
  auto info = inspect_chat_request(body);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->model, "a\"b\\");
  EXPECT_EQ(body.substr(info->model_begin, info->model_end - info->model_begin), R"("a\"b\\")");
}

TEST(InspectChatRequest, StreamDefaultsToFalseAndAcceptsNull) {
  auto info = inspect(R"({"model":"m","messages":[{"role":"user"}],"stream":null})");
  ASSERT_TRUE(info.has_value());
  EXPECT_FALSE(info->stream);
}

TEST(InspectChatRequest, MalformedJsonIs400WithoutParam) {
  for (const auto* body : {"", "{", "{\"model\":\"m\",", "[1,2]", "\"str\"", "{\"model\":\"m\"} x",
                           "{\"model\":\"m\",\"messages\":[{\"role\":\"user\"}],}"}) {
    auto info = inspect(body);
    ASSERT_FALSE(info.has_value()) << body;
    EXPECT_EQ(core::http_status(info.error()), 400) << body;
    EXPECT_EQ(info.error().param, "") << body;
  }
}

TEST(InspectChatRequest, InvalidJsonInFieldsItDoesNotReadIsRefused) {
  // The on-demand parser skips such values without reading their atoms (the fuzzer's
  // chat_request/crash-unvalidated-skipped-value): each is walked, in every place.
  const std::string head = R"({"model":"m","messages":[{"role":"user","content":"hi"}])";
  for (const std::string bad :
       {R"(,"temperature":tru})", R"(,"temperature":01})", R"(,"temperature":1.})",
        R"(,"temperature":-})", R"(,"tools":[{"x":nul}]})", R"(,"user":"a\x"})",
        ",\"user\":\"a\tb\"}", R"(,"user":"\ud800"})", R"(,"stream_options":{"x":fals}})",
        R"(,"stream_options":[1e]})", R"(,"n":1e+})"}) {
    auto info = inspect(head + bad);
    ASSERT_FALSE(info.has_value()) << bad;
    EXPECT_EQ(core::http_status(info.error()), 400) << bad;
  }
  auto in_message = inspect(R"({"model":"m","messages":[{"role":"user","content":tru}]})");
  EXPECT_FALSE(in_message.has_value());
  // A colon where a comma belongs, after a value the inspector skips (the fuzzer's
  // chat_request/crash-unconsumed-string-then-colon).
  for (const std::string bad : {R"({"model":"x","messages":[{"role":"t","":"":}}],"":2})",
                                R"({"model":"x","messages":[{"role":"t","a":"b":}}]})",
                                R"({"model":"x","messages":[{"role":"t","a":true:}}]})",
                                R"({"model":"x","messages":[{"role":"t"}],"a":"b":}})"}) {
    EXPECT_FALSE(inspect(bad).has_value()) << bad;
  }
  // Nesting deeper than the walk goes is refused, not a stack overflow (600 KB of brackets).
  const std::string deep =
      head + R"(,"x":)" + std::string(300'000, '[') + std::string(300'000, ']') + "}";
  auto too_deep = inspect(deep);
  ASSERT_FALSE(too_deep.has_value());
  EXPECT_NE(too_deep.error().message.find("nests deeper than 512 levels"), std::string::npos)
      << too_deep.error().message;
  const std::string nested =
      head + R"(,"x":)" + std::string(100, '[') + std::string(100, ']') + "}";
  EXPECT_TRUE(inspect(nested).has_value());
  // Valid values of every kind still pass, numbers of any size among them.
  auto fine = inspect(
      head +
      R"(,"temperature":-0.5e-3,"seed":123456789012345678901234567890,"n":1E400,"x":[true,false,null,{}],)"
      R"("user":"caf\u00e9 \ud83d\ude00 \"q\" \\ \/","stream_options":{"include_usage":true,"y":[]}})");
  ASSERT_TRUE(fine.has_value()) << fine.error().message;
  EXPECT_TRUE(fine->include_usage);
}

TEST(InspectChatRequest, FieldErrorsNameTheParam) {
  struct Case {
    const char* body;
    const char* param;
  };
  for (const auto& c : {
           Case{R"({"messages":[{"role":"user"}]})", "model"},
           Case{R"({"model":5,"messages":[{"role":"user"}]})", "model"},
           Case{R"({"model":"","messages":[{"role":"user"}]})", "model"},
           Case{R"({"model":"m"})", "messages"},
           Case{R"({"model":"m","messages":{}})", "messages"},
           Case{R"({"model":"m","messages":[]})", "messages"},
           Case{R"({"model":"m","messages":[1]})", "messages"},
           Case{R"({"model":"m","messages":[{"content":"x"}]})", "messages[0].role"},
           Case{R"({"model":"m","messages":[{"role":"user"},{"role":7}]})", "messages[1].role"},
           Case{R"({"model":"m","messages":[{"role":"user"}],"stream":"yes"})", "stream"},
       }) {
    auto info = inspect(c.body);
    ASSERT_FALSE(info.has_value()) << c.body;
    EXPECT_EQ(core::http_status(info.error()), 400) << c.body;
    EXPECT_EQ(info.error().param, c.param) << c.body;
  }
}

TEST(EchoInput, LastUserMessageStringOrParts) {
  std::string body =
      R"({"model":"echo","messages":[{"role":"system","content":"be nice"},)"
      R"({"role":"user","content":"first"},{"role":"assistant","content":"ok"},)"
      R"({"role":"user","content":[{"type":"text","text":"hello"},{"type":"image_url"},)"
      R"({"type":"text","text":"world"}]}]})";
  auto input = echo_input(body);
  EXPECT_EQ(input.text, "hello world");
  EXPECT_EQ(input.prompt_words, 6u);
}

TEST(SplitTokens, ConcatenatesBackToTheText) {
  for (std::string text : {"Hello there world", "  lead and trail  ", "one", "", "a\nb\tc"}) {
    std::string joined;
    for (auto token : split_tokens(text)) {
      joined += token;
    }
    EXPECT_EQ(joined, text);
  }
  auto tokens = split_tokens("Hello there world");
  ASSERT_EQ(tokens.size(), 3u);
  EXPECT_EQ(tokens[1], " there");
}

TEST(ChunkWriter, ChunkShapes) {
  ChunkWriter chunks;
  chunks.set_identity("chatcmpl-1", 7, "m");
  std::string out;
  chunks.delta(out, kRoleDelta);
  EXPECT_EQ(out,
            R"(data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":7,"model":"m",)"
            R"("choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,)"
            R"("finish_reason":null}]})"
            "\n\n");
  out.clear();
  chunks.content(out, "a \"b\"\n");
  EXPECT_EQ(out,
            R"(data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":7,"model":"m",)"
            R"("choices":[{"index":0,"delta":{"content":"a \"b\"\n"},"logprobs":null,)"
            R"("finish_reason":null}]})"
            "\n\n");
  out.clear();
  chunks.delta(out, "{}", "stop");
  EXPECT_EQ(out,
            R"(data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":7,"model":"m",)"
            R"("choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]})"
            "\n\n");
  out.clear();
  chunks.usage(out, Usage{2, 3});
  EXPECT_EQ(out,
            R"(data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":7,"model":"m",)"
            R"("choices":[],"usage":{"prompt_tokens":2,"completion_tokens":3,"total_tokens":5}})"
            "\n\n");
}

TEST(UsageJson, DetailsWrittenWhenKnown) {
  const auto json = [](const Usage& usage) {
    std::string out;
    append_usage_json(out, usage);
    return out;
  };
  EXPECT_EQ(json({}), R"({"prompt_tokens":0,"completion_tokens":0,"total_tokens":0})");
  EXPECT_EQ(json({.prompt_tokens = 10, .completion_tokens = 4, .cached_tokens = 6}),
            R"({"prompt_tokens":10,"completion_tokens":4,"total_tokens":14,)"
            R"("prompt_tokens_details":{"cached_tokens":6}})");
  EXPECT_EQ(json({.prompt_tokens = 10,
                  .completion_tokens = 4,
                  .cached_tokens = 6,
                  .cache_creation_tokens = 3,
                  .reasoning_tokens = 2}),
            R"({"prompt_tokens":10,"completion_tokens":4,"total_tokens":14,)"
            R"("prompt_tokens_details":{"cached_tokens":6,"cache_creation_tokens":3},)"
            R"("completion_tokens_details":{"reasoning_tokens":2}})");
  EXPECT_EQ(json({.prompt_tokens = 1, .completion_tokens = 1, .cache_creation_tokens = 3}),
            R"({"prompt_tokens":1,"completion_tokens":1,"total_tokens":2,)"
            R"("prompt_tokens_details":{"cache_creation_tokens":3}})");
}

}  // namespace
}  // namespace gw::api

namespace gw::api {
namespace {

TEST(InspectCompletionsRequest, NeedsAPromptStringOrArrayAndReadsTheRoutingFields) {
  auto info = inspect_completions_request(
      R"({"model":"m","prompt":["a",[1,2]],"stream":true,"stream_options":{"include_usage":true}})");
  ASSERT_TRUE(info.has_value()) << info.error().message;
  EXPECT_EQ(info->model, "m");
  EXPECT_TRUE(info->stream);
  EXPECT_TRUE(info->include_usage);
  EXPECT_TRUE(inspect_completions_request(R"({"model":"m","prompt":"x"})").has_value());
  const std::pair<const char*, const char*> refused[] = {
      {R"({"model":"m"})", "prompt"},
      {R"({"model":"m","prompt":7})", "prompt"},
      {R"({"model":"m","prompt":{}})", "prompt"},
      {R"({"prompt":"x"})", "model"},
      {R"({"model":"m","prompt":"x","stream":1})", "stream"},
      {R"({"model":"m","messages":[{"role":"user"}]})", "prompt"}};
  for (const auto& [body, param] : refused) {
    auto result = inspect_completions_request(body);
    ASSERT_FALSE(result.has_value()) << body;
    EXPECT_EQ(result.error().param, param) << body;
  }
}

}  // namespace
}  // namespace gw::api
