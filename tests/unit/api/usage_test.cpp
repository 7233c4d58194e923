#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "gw/api/chat_request.hpp"
#include "gw/providers/openai_compatible.hpp"

namespace gw::api {
namespace {

namespace json = boost::json;

std::string upstream(const std::string& body, std::string_view model, bool request_usage,
                     bool max_completion_tokens = false) {
  auto info = inspect_chat_request(body);
  EXPECT_TRUE(info.has_value());
  std::string storage;
  std::vector<std::string_view> parts;
  upstream_chat_body(body, *info, model, request_usage, storage, parts, max_completion_tokens);
  std::string out;
  for (auto part : parts) {
    out += part;
  }
  return out;
}

constexpr std::string_view kMessages = R"("messages":[{"role":"user","content":"hi"}])";

TEST(UpstreamChatBody, KeepsTheBytesWhenNothingChanges) {
  const std::string body = R"({"model":"m", "x":1,)" + std::string(kMessages) + "}";
  EXPECT_EQ(upstream(body, "m", true), body);  // not a stream: no usage request
}

TEST(UpstreamChatBody, RenamesAndAsksStreamsForUsage) {
  const std::string body = R"({"model":"m","stream":true,)" + std::string(kMessages) + "}";
  EXPECT_EQ(upstream(body, "backend:7b", true),
            R"({"model":"backend:7b","stream_options":{"include_usage":true},"stream":true,)" +
                std::string(kMessages) + "}");
  EXPECT_EQ(upstream(body, "m", false), body);
}

TEST(UpstreamChatBody, LeavesAClientsOwnUsageRequestAlone) {
  const std::string body =
      R"({"model":"m","stream":true,"stream_options":{"include_usage":true},)" +
      std::string(kMessages) + "}";
  EXPECT_EQ(upstream(body, "m", true), body);
}

TEST(UpstreamChatBody, RewritesStreamOptionsWithoutUsage) {
  const std::string body =
      R"({"model":"m","stream":true,"stream_options":{"include_usage":false},)" +
      std::string(kMessages) + "}";
  const auto out = upstream(body, "n", true);
  auto info = inspect_chat_request(out);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->model, "n");
  EXPECT_TRUE(info->include_usage);
}

TEST(UpstreamChatBody, RenamesMaxTokensForReasoningModelsWhereverItIs) {
  const std::string before =
      R"({"max_tokens" :5,"model":"openai/o3","stream":true,)" + std::string(kMessages) + "}";
  EXPECT_EQ(upstream(before, "o3", true, true),
            R"({"max_completion_tokens" :5,"model":"o3","stream_options":{"include_usage":true},)"
            R"("stream":true,)" +
                std::string(kMessages) + "}");
  const std::string after = R"({"model":"o3",)" + std::string(kMessages) + R"(,"max_tokens":9})";
  EXPECT_EQ(upstream(after, "o3", false, true),
            R"({"model":"o3",)" + std::string(kMessages) + R"(,"max_completion_tokens":9})");
  EXPECT_EQ(upstream(after, "o3", false, false), after);  // not a reasoning model: untouched
  // Both given: the upstream judges (it refuses the pair), nothing is renamed into a duplicate.
  const std::string both =
      R"({"model":"o3","max_tokens":1,"max_completion_tokens":2,)" + std::string(kMessages) + "}";
  EXPECT_EQ(upstream(both, "o3", false, true), both);
  // Twice (found by the fuzzer): renaming one would send both.
  const std::string twice =
      R"({"model":"o3","max_tokens":1,"max_tokens":2,)" + std::string(kMessages) + "}";
  EXPECT_EQ(upstream(twice, "o3", false, true), twice);
  // The rewritten body (stream_options without usage) renames it too.
  const auto rewritten =
      upstream(R"({"model":"o3","stream":true,"stream_options":{},"max_tokens":3,)" +
                   std::string(kMessages) + "}",
               "o3", true, true);
  EXPECT_NE(rewritten.find(R"("max_completion_tokens":3)"), std::string::npos) << rewritten;
  EXPECT_EQ(rewritten.find(R"("max_tokens")"), std::string::npos) << rewritten;
}

TEST(TakesMaxCompletionTokens, OpenAIsReasoningModels) {
  for (std::string_view model : {"o1", "o1-mini", "o3-mini", "o4-mini", "gpt-5", "gpt-5-nano"}) {
    EXPECT_TRUE(providers::takes_max_completion_tokens(model)) << model;
  }
  for (std::string_view model : {"gpt-4o", "gpt-4.1-mini", "text-o1", "llama3"}) {
    EXPECT_FALSE(providers::takes_max_completion_tokens(model)) << model;
  }
}

TEST(ReadUsage, FindsTheCountsOrNothing) {
  auto counts = read_usage(
      R"({"id":"x","usage":{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17}})");
  ASSERT_TRUE(counts.has_value());
  EXPECT_EQ(counts->prompt_tokens, 12);
  EXPECT_EQ(counts->completion_tokens, 5);
  EXPECT_FALSE(read_usage(R"({"id":"x","usage":null})").has_value());
  // Spaced out, nested details, and a "usage" inside a string do not confuse it.
  auto spaced = read_usage(
      R"({"choices":[{"message":{"content":"say \"usage\": {}"}}], "usage" : {"prompt_tokens_details":{"cached_tokens":1}, "prompt_tokens": 4, "completion_tokens": 2}})");
  ASSERT_TRUE(spaced.has_value());
  EXPECT_EQ(spaced->prompt_tokens, 4);
  EXPECT_EQ(spaced->completion_tokens, 2);
  auto compact = read_usage(R"({"usage":{"completion_tokens":7,"prompt_tokens":3},"id":"z"})");
  ASSERT_TRUE(compact.has_value());
  EXPECT_EQ(compact->prompt_tokens, 3);
  EXPECT_EQ(compact->completion_tokens, 7);
  EXPECT_FALSE(read_usage(R"({"id":"x"})").has_value());
  EXPECT_FALSE(read_usage("not json").has_value());
}

TEST(ReadUsage, StopsAtTheUsageObjectAndRefusesWhatIsBroken) {
  // Only the usage object is read: what follows it may be anything.
  auto cut = read_usage(R"({"usage":{"prompt_tokens":2,"completion_tokens":3} garbage)");
  ASSERT_TRUE(cut.has_value());
  EXPECT_EQ(cut->completion_tokens, 3);
  // The last "usage" key wins; an unfinished or broken usage object gives nothing.
  auto last = read_usage(R"({"usage":{"prompt_tokens":1},"usage":{"prompt_tokens":9}})");
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->prompt_tokens, 9);
  EXPECT_EQ(last->completion_tokens, -1);
  EXPECT_FALSE(read_usage(R"({"usage":{"prompt_tokens":1,)").has_value());
  EXPECT_FALSE(read_usage(R"({"usage":{"prompt_tokens":tru}})").has_value());
  // A broken upstream's counts are made safe to add up (sane_token_count).
  auto absurd =
      read_usage(R"({"usage":{"prompt_tokens":-5,"completion_tokens":4611686018427387904}})");
  ASSERT_TRUE(absurd.has_value());
  EXPECT_EQ(absurd->prompt_tokens, 0);
  EXPECT_EQ(absurd->completion_tokens, kMaxTokenCount);
  // Escaped keys are read unescaped; counts that are not integers are not counts.
  auto escaped = read_usage(R"({"usage" : {"prompt_\u0074okens":5,"completion_tokens":1.5}})");
  ASSERT_TRUE(escaped.has_value());
  EXPECT_EQ(escaped->prompt_tokens, 5);
  EXPECT_EQ(escaped->completion_tokens, -1);
}

TEST(CheckJsonObject, TakesOneWellFormedObjectAndItsTopLevelUsage) {
  auto check = check_json_object(
      R"({"choices":[{"message":{"content":"\"usage\":{}","usage":{"prompt_tokens":7}}}],)"
      R"( "usage": {"prompt_tokens": 4, "completion_tokens": -3, "details": {"prompt_tokens": 8}}} )");
  EXPECT_TRUE(check.is_object);
  ASSERT_TRUE(check.usage.has_value());
  EXPECT_EQ(check.usage->prompt_tokens, 4);      // not the nested ones
  EXPECT_EQ(check.usage->completion_tokens, 0);  // clamped: counts are summed later
  // A count not given stays unknown (-1), not a clamped 0.
  auto partial = check_json_object(R"({"usage":{"completion_tokens":2}})");
  ASSERT_TRUE(partial.usage.has_value());
  EXPECT_EQ(partial.usage->prompt_tokens, -1);
  EXPECT_EQ(partial.usage->completion_tokens, 2);
  auto none = check_json_object(R"({"id":"x","usage":{"prompt_tokens":1},"usage":null})");
  EXPECT_TRUE(none.is_object);
  EXPECT_FALSE(none.usage.has_value());
  EXPECT_FALSE(check_json_object(R"({"id":"x"})").usage.has_value());
  for (std::string_view broken :
       {R"({"id":"x"} {})", R"({"id":"x")", R"({"id":tru})", R"(["x"])", "", "<html></html>",
        "{\"id\":\"\xff\"}", R"({"id":"x",})", R"({"id":"x"} // note)"}) {
    EXPECT_FALSE(check_json_object(broken).is_object) << broken;
  }
  // Nesting as deep as a request may have is taken.
  std::string deep = R"({"schema":)" + std::string(kMaxRequestDepth - 1, '[') +
                     std::string(kMaxRequestDepth - 1, ']') + "}";
  EXPECT_TRUE(check_json_object(deep).is_object);
}

TEST(PassThroughUsage, CountsUsageAndStripsTheChunkTheClientDidNotAskFor) {
  const std::string stream =
      "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n"
      "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1}}\n\n"
      "data: [DONE]\n\n";
  auto stripped = providers::make_pass_through(true);
  auto out = stripped->feed(stream);
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(*out, "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\ndata: [DONE]\n\n");
  EXPECT_EQ(stripped->usage().prompt_tokens, 3);
  EXPECT_EQ(stripped->usage().completion_tokens, 1);
  EXPECT_TRUE(stripped->finished());

  auto kept = providers::make_pass_through(false);
  auto all = kept->feed(stream);
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ(*all, stream);
  EXPECT_EQ(kept->usage().completion_tokens, 1);
}

TEST(PassThroughUsage, StrippingKeepsWhatSurroundsTheUsageChunk) {
  // An id-only event and a comment before the usage chunk stay: the ids of later events (the
  // client's last-event id) must not change; only the usage chunk's own line goes.
  const std::string stream =
      "id: 7\n\n"
      ": keep-alive\n\n"
      "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1}}\n\n"
      "data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n"
      "data: [DONE]\n\n";
  auto stripped = providers::make_pass_through(true);
  auto out = stripped->feed(stream);
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(*out,
            "id: 7\n\n: keep-alive\n\ndata: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n"
            "data: [DONE]\n\n");
  EXPECT_EQ(stripped->usage().completion_tokens, 1);
}

}  // namespace
}  // namespace gw::api

namespace gw::api {
namespace {

TEST(CheckJsonObject, ValidatesAndReadsUsageInOnePass) {
  std::string body =
      R"({"id":"c","usage":{"prompt_tokens":3,"completion_tokens":5,"total_tokens":8},"x":[1]})";
  auto check = check_json_object(body);
  EXPECT_TRUE(check.is_object);
  ASSERT_TRUE(check.usage.has_value());
  EXPECT_EQ(check.usage->prompt_tokens, 3);
  EXPECT_EQ(check.usage->completion_tokens, 5);
  std::string no_usage = R"({"id":"c","usage":null})";
  auto without = check_json_object(no_usage);
  EXPECT_TRUE(without.is_object);
  EXPECT_FALSE(without.usage.has_value());
  for (std::string bad : {R"({"id":"c",)", "[1]", "<html></html>", "{\"a\":\"\xff\"}"}) {
    EXPECT_FALSE(check_json_object(bad).is_object) << bad;
  }
}

// A translator's chat request is written with what inspecting its text would read: the same
// model, stream and usage flags, and the same places for the splices.
TEST(WriteChatRequest, ReadsWhatInspectingTheTextWould) {
  for (const std::string tree : {
           R"({"model":"m","messages":[{"role":"user","content":"x"}]})",
           R"({"model":"m\u00e9\"q","messages":[{"role":"user","content":"x"}],"stream":true,)"
           R"("temperature":0.5,"max_tokens":7})",
           R"({"model":"m","messages":[{"role":"user","content":"x"}],"stream":true,)"
           R"("stream_options":{"include_usage":true},"max_completion_tokens":9})",
           R"({"model":"m","messages":[{"role":"user","content":"x"}],"stream_options":{}})",
       }) {
    const auto written = write_chat_request(json::parse(tree).as_object());
    EXPECT_EQ(json::parse(written.body), json::parse(tree)) << written.body;
    const auto inspected = inspect_chat_request(written.body);
    ASSERT_TRUE(inspected.has_value()) << written.body;
    const ChatRequestInfo& info = written.info;
    EXPECT_EQ(info.model, inspected->model);
    EXPECT_EQ(info.stream, inspected->stream);
    EXPECT_EQ(info.include_usage, inspected->include_usage);
    EXPECT_EQ(info.has_stream_options, inspected->has_stream_options);
    EXPECT_EQ(info.model_begin, inspected->model_begin);
    EXPECT_EQ(info.model_end, inspected->model_end);
    EXPECT_EQ(info.max_tokens_keys, inspected->max_tokens_keys);
    EXPECT_EQ(info.max_tokens_key_begin, inspected->max_tokens_key_begin);
    EXPECT_EQ(info.max_tokens_key_end, inspected->max_tokens_key_end);
    EXPECT_EQ(info.has_max_completion_tokens, inspected->has_max_completion_tokens);
  }
}

}  // namespace
}  // namespace gw::api
