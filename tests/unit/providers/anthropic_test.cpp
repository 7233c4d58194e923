#include "gw/providers/anthropic.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fstream>
#include <sstream>

#include "sse_chunks.hpp"

namespace gw::providers {
namespace {

namespace json = boost::json;

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(GW_FIXTURES_DIR) + "/anthropic/" + name, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// The translated body, read back as a tree (it must be one JSON object).
tl::expected<json::object, core::Error> translate(std::string_view openai) {
  auto body = anthropic_request_from_openai(json::parse(openai).as_object(), "claude-x", 4096);
  if (!body) {
    return tl::unexpected(body.error());
  }
  return json::parse(*body).as_object();
}

json::value translated(std::string_view openai) {
  auto out = translate(openai);
  EXPECT_TRUE(out.has_value()) << (out ? "" : out.error().message);
  return out ? json::value(*out) : json::value();
}

TEST(AnthropicRequest, SystemMessagesMergedTurnsAndDefaults) {
  auto out = translated(R"({"model":"anthropic/claude-x","messages":[
      {"role":"system","content":"Be brief."},
      {"role":"developer","content":[{"type":"text","text":"Use SI units."}]},
      {"role":"user","content":"Hi"},
      {"role":"user","content":"there"}],
      "temperature":0.5,"top_p":0.9,"stop":"END","user":"u-1","stream":true})");
  EXPECT_EQ(out, json::parse(R"({
      "model":"claude-x","temperature":0.5,"top_p":0.9,"stop_sequences":["END"],
      "metadata":{"user_id":"u-1"},"stream":true,"max_tokens":4096,
      "system":[{"type":"text","text":"Be brief."},{"type":"text","text":"Use SI units."}],
      "messages":[{"role":"user","content":[{"type":"text","text":"Hi"},
                                            {"type":"text","text":"there"}]}]})"));
}

TEST(AnthropicRequest, MaxCompletionTokensAndStopArray) {
  auto out = translated(R"({"model":"m","messages":[{"role":"user","content":"x"}],
      "max_completion_tokens":77,"stop":["a","b"]})");
  EXPECT_EQ(out.at("max_tokens"), 77);
  EXPECT_EQ(out.at("stop_sequences"), json::parse(R"(["a","b"])"));
}

TEST(AnthropicRequest, Images) {
  auto out = translated(R"({"model":"m","messages":[{"role":"user","content":[
      {"type":"text","text":"What is this?"},
      {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}},
      {"type":"image_url","image_url":{"url":"https://example.com/cat.jpg"}}]}]})");
  EXPECT_EQ(out.at("messages"), json::parse(R"([{"role":"user","content":[
      {"type":"text","text":"What is this?"},
      {"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}},
      {"type":"image","source":{"type":"url","url":"https://example.com/cat.jpg"}}]}])"));
}

TEST(AnthropicRequest, ToolsChoiceAndMultiTurnToolUse) {
  auto out = translated(R"({"model":"m","messages":[
      {"role":"user","content":"Weather in Paris and Rome?"},
      {"role":"assistant","content":null,"tool_calls":[
        {"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},
        {"id":"call_2","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Rome\"}"}}]},
      {"role":"tool","tool_call_id":"call_1","content":"18C"},
      {"role":"tool","tool_call_id":"call_2","content":[{"type":"text","text":"24C"}]}],
      "tools":[{"type":"function","function":{"name":"get_weather","description":"Weather",
                "parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}],
      "tool_choice":{"type":"function","function":{"name":"get_weather"}},
      "parallel_tool_calls":false})");
  EXPECT_EQ(out.at("tools"), json::parse(R"([{"name":"get_weather","description":"Weather",
      "input_schema":{"type":"object","properties":{"city":{"type":"string"}}}}])"));
  EXPECT_EQ(
      out.at("tool_choice"),
      json::parse(R"({"type":"tool","name":"get_weather","disable_parallel_tool_use":true})"));
  EXPECT_EQ(out.at("messages"), json::parse(R"([
      {"role":"user","content":[{"type":"text","text":"Weather in Paris and Rome?"}]},
      {"role":"assistant","content":[
        {"type":"tool_use","id":"call_1","name":"get_weather","input":{"city":"Paris"}},
        {"type":"tool_use","id":"call_2","name":"get_weather","input":{"city":"Rome"}}]},
      {"role":"user","content":[
        {"type":"tool_result","tool_use_id":"call_1","content":[{"type":"text","text":"18C"}]},
        {"type":"tool_result","tool_use_id":"call_2","content":[{"type":"text","text":"24C"}]}]}])"));
}

TEST(AnthropicRequest, ToolChoiceModes) {
  for (const auto& [openai, anthropic] :
       std::vector<std::pair<std::string, std::string>>{{R"("auto")", R"({"type":"auto"})"},
                                                        {R"("none")", R"({"type":"none"})"},
                                                        {R"("required")", R"({"type":"any"})"}}) {
    auto out =
        translated(R"({"model":"m","messages":[{"role":"user","content":"x"}],)"
                   R"("tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":)" +
                   openai + "}");
    EXPECT_EQ(out.at("tool_choice"), json::parse(anthropic)) << openai;
  }
}

TEST(AnthropicRequest, ParallelToolCallsFalseWithoutToolChoiceIsAutoWithoutParallelUse) {
  auto out = translated(R"({"model":"m","messages":[{"role":"user","content":"x"}],)"
                        R"("tools":[{"type":"function","function":{"name":"f"}}],)"
                        R"("parallel_tool_calls":false})");
  EXPECT_EQ(out.at("tool_choice"),
            json::parse(R"({"type":"auto","disable_parallel_tool_use":true})"));
  // "none" calls no tool at all: there is nothing to serialise.
  auto none = translated(R"({"model":"m","messages":[{"role":"user","content":"x"}],)"
                         R"("tools":[{"type":"function","function":{"name":"f"}}],)"
                         R"("tool_choice":"none","parallel_tool_calls":false})");
  EXPECT_EQ(none.at("tool_choice"), json::parse(R"({"type":"none"})"));
  // true is Anthropic's default: no tool_choice is sent for it.
  auto parallel = translated(R"({"model":"m","messages":[{"role":"user","content":"x"}],)"
                             R"("tools":[{"type":"function","function":{"name":"f"}}],)"
                             R"("parallel_tool_calls":true})");
  EXPECT_FALSE(parallel.as_object().contains("tool_choice"));
}

TEST(AnthropicRequest, StrictToolsAreRejectedByName) {
  auto strict = translate(R"({"model":"m","messages":[{"role":"user","content":"x"}],)"
                          R"("tools":[{"type":"function","function":{"name":"f","strict":true,)"
                          R"("parameters":{"type":"object"}}}]})");
  ASSERT_FALSE(strict.has_value());
  EXPECT_EQ(core::http_status(strict.error()), 400);
  EXPECT_EQ(strict.error().param, "tools[0].function.strict");
  auto lax = translate(R"({"model":"m","messages":[{"role":"user","content":"x"}],)"
                       R"("tools":[{"type":"function","function":{"name":"f","strict":false}}]})");
  EXPECT_TRUE(lax.has_value()) << (lax ? "" : lax.error().message);
}

TEST(AnthropicRequest, MistypedUserAndParallelToolCallsAreRejectedNotDropped) {
  for (const auto& [field, body] : std::vector<std::pair<std::string, std::string>>{
           {"user", R"("user":5)"},
           {"user", R"("user":{"id":"u-1"})"},
           {"parallel_tool_calls", R"("parallel_tool_calls":"false")"},
           {"parallel_tool_calls", R"("parallel_tool_calls":0)"},
       }) {
    auto out =
        translate(R"({"model":"m","messages":[{"role":"user","content":"x"}],)" + body + "}");
    ASSERT_FALSE(out.has_value()) << body;
    EXPECT_EQ(core::http_status(out.error()), 400) << body;
    EXPECT_EQ(out.error().param, field) << body;
  }
  // null is an absent field.
  auto nulls = translated(R"({"model":"m","messages":[{"role":"user","content":"x"}],)"
                          R"("user":null,"parallel_tool_calls":null})");
  EXPECT_FALSE(nulls.as_object().contains("metadata"));
  EXPECT_FALSE(nulls.as_object().contains("tool_choice"));
}

TEST(AnthropicRequest, WhatAnthropicCannotExpressIsRejectedByName) {
  for (const auto& [field, body] : std::vector<std::pair<std::string, std::string>>{
           {"n", R"("n":2)"},
           {"seed", R"("seed":1)"},
           {"logprobs", R"("logprobs":true)"},
           {"top_logprobs", R"("top_logprobs":2)"},
           {"frequency_penalty", R"("frequency_penalty":0.5)"},
           {"presence_penalty", R"("presence_penalty":1)"},
           {"logit_bias", R"("logit_bias":{"50256":-100})"},
           {"response_format", R"("response_format":{"type":"grammar"})"},
           {"store", R"("store":true)"},
           {"metadata", R"("metadata":{"a":1})"},
           {"temperature", R"("temperature":1.5)"},
           {"audio", R"("audio":{"voice":"alloy"})"},
           {"some_new_field", R"("some_new_field":1)"},
       }) {
    auto out =
        translate(R"({"model":"m","messages":[{"role":"user","content":"x"}],)" + body + "}");
    ASSERT_FALSE(out.has_value()) << field;
    EXPECT_EQ(core::http_status(out.error()), 400) << field;
    EXPECT_EQ(out.error().param, field);
  }
}

TEST(AnthropicRequest, HarmlessDefaultsAreAccepted) {
  auto out = translate(R"({"model":"m","messages":[{"role":"user","content":"x"}],"n":1,
      "logprobs":false,"frequency_penalty":0,"presence_penalty":0,"seed":null,
      "response_format":{"type":"text"},"stream_options":{"include_usage":true},
      "store":false,"metadata":{},"logit_bias":{},"top_logprobs":null})");
  ASSERT_TRUE(out.has_value()) << (out ? "" : out.error().message);
  EXPECT_FALSE(out->contains("metadata"));
  EXPECT_FALSE(out->contains("store"));
  EXPECT_FALSE(out->contains("logit_bias"));
}

TEST(AnthropicRequest, BadToolArgumentsAndPartsNameTheirPlace) {
  auto args = translate(R"({"model":"m","messages":[{"role":"user","content":"x"},
      {"role":"assistant","tool_calls":[{"id":"c","type":"function",
        "function":{"name":"f","arguments":"not json"}}]}]})");
  ASSERT_FALSE(args.has_value());
  EXPECT_EQ(args.error().param, "messages[1].tool_calls[0].function.arguments");
  auto audio = translate(R"({"model":"m","messages":[{"role":"user","content":[
      {"type":"input_audio","input_audio":{"data":"","format":"wav"}}]}]})");
  ASSERT_FALSE(audio.has_value());
  EXPECT_EQ(audio.error().param, "messages[0].content");
}

TEST(AnthropicResponse, TextToolUseUsageAndFinishReason) {
  auto out = openai_completion_from_anthropic(fixture("message_tool_use.json"));
  ASSERT_TRUE(out.has_value());
  auto v = json::parse(*out).as_object();
  EXPECT_EQ(v.at("id"), "msg_01Aq9w938a90dw8q");
  EXPECT_EQ(v.at("object"), "chat.completion");
  EXPECT_EQ(v.at("model"), "claude-3-5-sonnet-20241022");
  const auto& choice = v.at("choices").as_array()[0].as_object();
  EXPECT_EQ(choice.at("finish_reason"), "tool_calls");
  const auto& message = choice.at("message").as_object();
  EXPECT_EQ(message.at("content"), "I'll check the current weather in San Francisco for you.");
  const auto& call = message.at("tool_calls").as_array()[0].as_object();
  EXPECT_EQ(call.at("id"), "toolu_01A09q90qw90lq917835lq9");
  EXPECT_EQ(call.at("function").at("name"), "get_weather");
  EXPECT_EQ(json::parse(call.at("function").at("arguments").as_string()),
            json::parse(R"({"location":"San Francisco, CA","unit":"celsius"})"));
  EXPECT_EQ(v.at("usage"), json::parse(R"({"prompt_tokens":3195,"completion_tokens":503,
      "total_tokens":3698,"prompt_tokens_details":{"cached_tokens":1000,"cache_creation_tokens":100}})"));
}

TEST(AnthropicResponse, EveryFinishReason) {
  EXPECT_EQ(finish_reason_from_anthropic("end_turn"), "stop");
  EXPECT_EQ(finish_reason_from_anthropic("stop_sequence"), "stop");
  EXPECT_EQ(finish_reason_from_anthropic("pause_turn"), "stop");
  EXPECT_EQ(finish_reason_from_anthropic("max_tokens"), "length");
  EXPECT_EQ(finish_reason_from_anthropic("tool_use"), "tool_calls");
  EXPECT_EQ(finish_reason_from_anthropic("refusal"), "content_filter");
  EXPECT_EQ(finish_reason_from_anthropic("model_context_window_exceeded"), "length");
}

TEST(AnthropicResponse, NotJsonOrANumberBeyond64BitsIsRefusedByName) {
  auto not_json = openai_completion_from_anthropic(R"({"id":"m","content":[)");
  ASSERT_FALSE(not_json);
  EXPECT_NE(not_json.error().message.find("not JSON"), std::string::npos);
  auto huge = openai_completion_from_anthropic(
      R"({"id":"m","model":"c","content":[{"type":"tool_use","id":"t","name":"f",)"
      R"("input":{"n":123456789012345678901234}}],"stop_reason":"tool_use"})");
  ASSERT_FALSE(huge);
  EXPECT_EQ(huge.error().errc, gw::core::Errc::kUpstreamError);
  EXPECT_NE(huge.error().message.find("beyond 64 bits"), std::string::npos) << huge.error().message;
}

TEST(AnthropicResponse, TextBlocksAreJoined) {
  auto out = openai_completion_from_anthropic(
      R"({"id":"m","model":"c","content":[{"type":"text","text":"Hello, "},)"
      R"({"type":"text","text":"wide "},{"type":"text","text":"world."}],)"
      R"("stop_reason":"end_turn","usage":{"input_tokens":1,"output_tokens":3}})");
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(json::parse(*out).at("choices").as_array()[0].at("message").at("content"),
            "Hello, wide world.");
}

TEST(AnthropicResponse, EmptyContentIsAnEmptyString) {
  auto out = openai_completion_from_anthropic(
      R"({"id":"m","model":"c","content":[],"stop_reason":"end_turn","usage":{"input_tokens":1,"output_tokens":0}})");
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(json::parse(*out).at("choices").as_array()[0].at("message").at("content"), "");
}

struct StreamResult {
  std::vector<json::object> chunks;
  bool done = false;
  std::string raw;
};

StreamResult run_stream(const std::string& transcript, size_t piece_size, bool include_usage,
                        bool json_answer = false) {
  auto translator = make_anthropic_stream_translator(include_usage, json_answer);
  StreamResult result;
  for (size_t i = 0; i < transcript.size(); i += piece_size) {
    auto out = translator->feed(std::string_view(transcript).substr(i, piece_size));
    EXPECT_TRUE(out.has_value());
    result.raw += *out;
  }
  size_t pos = 0;
  while ((pos = result.raw.find("data: ", pos)) != std::string::npos) {
    auto end = result.raw.find("\n\n", pos);
    auto data = result.raw.substr(pos + 6, end - pos - 6);
    if (data == "[DONE]") {
      result.done = true;
    } else {
      result.chunks.push_back(json::parse(data).as_object());
    }
    pos = end;
  }
  EXPECT_EQ(translator->finished(), result.done);
  return result;
}

TEST(AnthropicStream, DocsTranscriptAtAnyPieceSize) {
  const auto transcript = fixture("stream_text_tool_use.sse");
  for (size_t piece : {1u, 7u, 64u, 100000u}) {
    auto result = run_stream(transcript, piece, false);
    ASSERT_TRUE(result.done) << piece;
    // role, 3 text deltas, the tool call's start, 8 argument fragments (the empty one is not
    // sent), the finish chunk: the ping and the empty text block start send nothing.
    EXPECT_EQ(result.chunks.size(), 14u) << piece;
    std::string text;
    std::string arguments;
    std::string finish;
    for (const auto& c : result.chunks) {
      EXPECT_EQ(c.at("id"), "msg_014p7gG3wDgGV9EUtLvnow3U");
      EXPECT_EQ(c.at("object"), "chat.completion.chunk");
      const auto& choice = c.at("choices").as_array()[0].as_object();
      const auto& delta = choice.at("delta").as_object();
      if (const auto* content = delta.if_contains("content")) {
        text += content->as_string();
      }
      if (const auto* calls = delta.if_contains("tool_calls")) {
        const auto& call = calls->as_array()[0].as_object();
        EXPECT_EQ(call.at("index"), 0);
        if (call.contains("id")) {
          EXPECT_EQ(call.at("id"), "toolu_01T1x1fJ34qAmk2tNTrN7Up6");
          EXPECT_EQ(call.at("function").at("name"), "get_weather");
        }
        arguments += call.at("function").at("arguments").as_string();
      }
      if (!choice.at("finish_reason").is_null()) {
        finish = choice.at("finish_reason").as_string();
      }
    }
    EXPECT_EQ(result.chunks.front().at("choices").as_array()[0].at("delta").at("role"),
              "assistant");
    EXPECT_EQ(text, "Okay, let's check the weather for San Francisco, CA:");
    EXPECT_EQ(json::parse(arguments),
              json::parse(R"({"location": "San Francisco, CA", "unit": "fahrenheit"})"));
    EXPECT_EQ(finish, "tool_calls");
  }
}

TEST(AnthropicStream, UsageChunkOnlyWhenAskedMergesStartAndDelta) {
  const auto transcript = fixture("stream_text_tool_use.sse");
  auto without = run_stream(transcript, 4096, false);
  for (const auto& c : without.chunks) {
    EXPECT_FALSE(c.contains("usage"));
  }
  auto with = run_stream(transcript, 4096, true);
  ASSERT_EQ(with.chunks.size(), without.chunks.size() + 1);
  const auto& last = with.chunks.back();
  EXPECT_TRUE(last.at("choices").as_array().empty());
  EXPECT_EQ(last.at("usage").at("prompt_tokens"), 472);
  EXPECT_EQ(last.at("usage").at("completion_tokens"), 89);
  EXPECT_EQ(last.at("usage").at("total_tokens"), 561);
}

TEST(AnthropicStream, CompactAndSpacedMessageDeltaReadTheSame) {
  // The compact form (what the API sends) is read without a tree: the same finish and usage as
  // the docs' spaced form, which is.
  auto transcript = [](std::string_view message_delta) {
    return std::string(
               "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":"
               "\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude\","
               "\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":5,"
               "\"output_tokens\":1}}}\n\n"
               "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
               "\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n"
               "event: message_delta\ndata: ") +
           std::string(message_delta) +
           "\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
  };
  for (
      const char* delta :
      {R"({"type":"message_delta","delta":{"stop_reason":"max_tokens","stop_sequence":null},"usage":{"output_tokens":7}})",
       R"({"type": "message_delta", "delta": {"stop_reason": "max_tokens", "stop_sequence": null}, "usage": {"output_tokens": 7}})"}) {
    for (size_t piece : {1u, 100000u}) {
      auto result = run_stream(transcript(delta), piece, true);
      ASSERT_TRUE(result.done) << delta;
      ASSERT_GE(result.chunks.size(), 3u);
      const auto& finish = result.chunks[result.chunks.size() - 2];
      EXPECT_EQ(finish.at("choices").as_array()[0].at("finish_reason"), "length") << delta;
      EXPECT_EQ(result.chunks.back().at("usage").at("completion_tokens"), 7) << delta;
      EXPECT_EQ(result.chunks.back().at("usage").at("prompt_tokens"), 5) << delta;
    }
  }
}

TEST(AnthropicStream, MessageStartReadOnDemandInEverySpacing) {
  // message_start is read on demand, not parsed whole: its id, model and usage come out the same
  // whatever the spacing (the compact and the docs' forms go straight there, another after a
  // parse), cached prompt tokens included.
  auto transcript = [](std::string_view message_start) {
    return "event: message_start\ndata: " + std::string(message_start) +
           "\n\nevent: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
           "\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n"
           "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
           "\"end_turn\"},\"usage\":{\"output_tokens\":3}}\n\n"
           "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
  };
  for (
      const char* start :
      {R"({"type":"message_start","message":{"id":"msg_\u00e9","type":"message","content":[],"model":"claude","usage":{"input_tokens":5,"cache_read_input_tokens":2,"output_tokens":1,"cache_creation_input_tokens":null}}})",
       R"({"type": "message_start", "message": {"id": "msg_\u00e9", "model": "claude", "content": [{"x": [1, {"y": null}]}], "usage": {"cache_read_input_tokens": 2, "input_tokens": 5}}})",
       R"({ "type" : "message_start" , "message" : { "usage" : { "input_tokens" : 5 , "cache_read_input_tokens" : 2 } , "model" : "claude" , "id" : "msg_\u00e9" } })"}) {
    auto result = run_stream(transcript(start), 100000, true);
    ASSERT_TRUE(result.done) << start;
    ASSERT_EQ(result.chunks.size(), 4U) << start;  // role with the text, text, finish, usage
    EXPECT_EQ(result.chunks[0].at("id"), "msg_\u00e9") << start;
    EXPECT_EQ(result.chunks[0].at("model"), "claude") << start;
    EXPECT_EQ(result.chunks.back().at("usage").at("prompt_tokens"), 7) << start;
    EXPECT_EQ(result.chunks.back().at("usage").at("completion_tokens"), 3) << start;
  }
  // Without a message there is nothing to take (the role chunk still comes); text that is not
  // JSON is the upstream's error, as for any other event.
  auto bare = run_stream(transcript(R"({"type":"message_start","x":1})"), 100000, false);
  ASSERT_TRUE(bare.done);
  EXPECT_EQ(bare.chunks[0].at("choices").as_array()[0].at("delta").at("role"), "assistant");
  // A field broken after one that was read (the fuzzer's find): refused, not read past.
  EXPECT_FALSE(make_anthropic_stream_translator(false, false)
                   ->feed("event: message_start\ndata: {\"type\":\"message_start\",\"message\":"
                          "{\"id\":\"x\":1,\"model\":\"m\"}}\n\n")
                   .has_value());
  auto translator = make_anthropic_stream_translator(false, false);
  EXPECT_FALSE(translator
                   ->feed("event: message_start\ndata: "
                          "{\"type\":\"message_start\",\"message\":{\"id\":\"\xff\"}}\n\n")
                   .has_value());
}

TEST(AnthropicStream, UsageChunkIsSentAtMessageStopAfterTheFinishChunk) {
  const auto transcript = fixture("stream_text_tool_use.sse");
  const auto stop = transcript.find("event: message_stop");
  ASSERT_NE(stop, std::string::npos);
  auto translator = make_anthropic_stream_translator(true);
  auto before = translator->feed(std::string_view(transcript).substr(0, stop));
  ASSERT_TRUE(before.has_value());
  EXPECT_NE(before->find(R"("finish_reason":"tool_calls")"), std::string::npos);
  EXPECT_EQ(before->find(R"("usage")"), std::string::npos) << *before;
  EXPECT_FALSE(translator->finished());
  auto at_stop = translator->feed(std::string_view(transcript).substr(stop));
  ASSERT_TRUE(at_stop.has_value());
  const auto out = testing::parse_sse_output(std::string(*at_stop));
  ASSERT_EQ(out.chunks.size(), 1u) << *at_stop;
  EXPECT_TRUE(out.chunks[0].at("choices").as_array().empty());
  EXPECT_EQ(out.chunks[0].at("usage").at("total_tokens"), 561);
  EXPECT_TRUE(out.done);
}

TEST(AnthropicStream, ParallelToolCallsGetTheirOwnIndex) {
  std::string transcript =
      "event: message_start\ndata: "
      "{\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":\"c\",\"usage\":{\"input_"
      "tokens\":1,\"output_tokens\":1}}}\n\n"
      "event: content_block_start\ndata: "
      "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\","
      "\"id\":\"t0\",\"name\":\"a\",\"input\":{}}}\n\n"
      "event: content_block_start\ndata: "
      "{\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\","
      "\"id\":\"t1\",\"name\":\"b\",\"input\":{}}}\n\n"
      "event: content_block_delta\ndata: "
      "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\","
      "\"partial_json\":\"{}\"}}\n\n"
      "event: content_block_delta\ndata: "
      "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\","
      "\"partial_json\":\"{\\\"x\\\":1}\"}}\n\n"
      "event: message_delta\ndata: "
      "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},\"usage\":{\"output_"
      "tokens\":5}}\n\n"
      "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
  auto result = run_stream(transcript, 13, false);
  ASSERT_TRUE(result.done);
  // role, two tool starts, two argument deltas, finish
  ASSERT_EQ(result.chunks.size(), 6u);
  auto call = [&](size_t i) {
    return result.chunks[i].at("choices").as_array()[0].at("delta").at("tool_calls").as_array()[0];
  };
  EXPECT_EQ(call(1).at("index"), 0);
  EXPECT_EQ(call(2).at("index"), 1);
  EXPECT_EQ(call(3).at("index"), 1);
  EXPECT_EQ(call(3).at("function").at("arguments"), "{}");
  EXPECT_EQ(call(4).at("index"), 0);
}

TEST(AnthropicStream, ToolWithoutArgumentsStillAssemblesToAnObject) {
  std::string transcript =
      "event: message_start\ndata: "
      "{\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":\"c\"}}\n\n"
      "event: content_block_start\ndata: "
      "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\","
      "\"id\":\"t0\",\"name\":\"get_time\",\"input\":{}}}\n\n"
      "event: content_block_delta\ndata: "
      "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\","
      "\"partial_json\":\"\"}}\n\n"
      "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
      "event: message_delta\ndata: "
      "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},\"usage\":{\"output_"
      "tokens\":3,\"input_tokens\":null}}\n\n"
      "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
  auto result = run_stream(transcript, 5, true);
  ASSERT_TRUE(result.done);
  std::string arguments;
  for (const auto& c : result.chunks) {
    if (c.at("choices").as_array().empty()) {
      continue;
    }
    const auto& delta = c.at("choices").as_array()[0].at("delta").as_object();
    if (const auto* calls = delta.if_contains("tool_calls")) {
      arguments += calls->as_array()[0].at("function").at("arguments").as_string();
    }
  }
  EXPECT_EQ(arguments, "{}");
  // A null count in message_delta does not erase what message_start said (here: nothing).
  EXPECT_EQ(result.chunks.back().at("usage").at("completion_tokens"), 3);
}

TEST(AnthropicRequest, JsonSchemaBecomesOneForcedToolWithTheSchema) {
  const auto out = translated(
      R"({"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":)"
      R"("json_schema","json_schema":{"name":"weather","description":"Today's weather.",)"
      R"("schema":{"type":"object","properties":{"t":{"type":"number"}}},"strict":true}}})");
  EXPECT_EQ(
      out.at("tools"),
      json::parse(R"([{"name":"json_response","description":"Give the answer as this )"
                  R"(tool's input: a JSON object (weather): Today's weather.",)"
                  R"("input_schema":{"type":"object","properties":{"t":{"type":"number"}}}}])"));
  EXPECT_EQ(out.at("tool_choice"), json::parse(R"({"type":"tool","name":"json_response",)"
                                               R"("disable_parallel_tool_use":true})"));
  const auto any = translated(
      R"({"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_object"}})");
  EXPECT_EQ(any.at("tools").at(0).at("input_schema"), json::parse(R"({"type":"object"})"));
  // A client's tool list that is empty competes with nothing.
  translated(R"({"model":"m","messages":[{"role":"user","content":"x"}],"tools":[],)"
             R"("response_format":{"type":"json_object"}})");
}

TEST(AnthropicRequest, JsonAnswerWithToolsOrANonObjectSchemaIsRefusedByName) {
  for (
      const auto& [body, param] : std::vector<std::pair<std::string, std::string>>{
          {R"("tools":[{"type":"function","function":{"name":"f"}}],"response_format":{"type":"json_object"})",
           "response_format"},
          {R"("tool_choice":"required","response_format":{"type":"json_object"})",
           "response_format"},
          {R"("response_format":{"type":"json_schema","json_schema":{"name":"l","schema":{"type":"array"}}})",
           "response_format.json_schema.schema"},
          {R"("response_format":{"type":"json_schema"})", "response_format.json_schema"},
      }) {
    auto out =
        translate(R"({"model":"m","messages":[{"role":"user","content":"x"}],)" + body + "}");
    ASSERT_FALSE(out.has_value()) << body;
    EXPECT_EQ(out.error().param, param) << body;
  }
}

TEST(AsksForJson, ReadsTheResponseFormatType) {
  const auto asks = [](std::string_view body) {
    return asks_for_json(json::parse(body).as_object());
  };
  EXPECT_TRUE(asks(R"({"response_format":{"type":"json_schema","json_schema":{}}})"));
  EXPECT_TRUE(asks(R"({"response_format":{"type":"json_object"}})"));
  EXPECT_FALSE(asks(R"({"response_format":{"type":"text"}})"));
  EXPECT_FALSE(asks(R"({"messages":[{"role":"user","content":"\"response_format\""}]})"));
}

const std::string kJsonAnswerTranscript =
    "event: message_start\ndata: "
    "{\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":\"c\"}}\n\n"
    "event: content_block_start\ndata: "
    "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\","
    "\"id\":\"t0\",\"name\":\"json_response\",\"input\":{}}}\n\n"
    "event: content_block_delta\ndata: "
    "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\","
    "\"partial_json\":\"{\\\"t\\\": \"}}\n\n"
    "event: content_block_delta\ndata: "
    "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\","
    "\"partial_json\":\"21}\"}}\n\n"
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
    "event: message_delta\ndata: "
    "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},\"usage\":{\"output_"
    "tokens\":5}}\n\n"
    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";

TEST(AnthropicStream, TheJsonAnswersToolInputStreamsAsContentAndStops) {
  for (size_t piece : {1u, 9u, 100000u}) {
    auto result = run_stream(kJsonAnswerTranscript, piece, false, true);
    ASSERT_TRUE(result.done);
    std::string content;
    std::string finish;
    for (const auto& c : result.chunks) {
      const auto& choice = c.at("choices").as_array()[0].as_object();
      const auto& delta = choice.at("delta").as_object();
      EXPECT_EQ(delta.if_contains("tool_calls"), nullptr);
      if (const auto* text = delta.if_contains("content")) {
        content += text->as_string();
      }
      if (choice.at("finish_reason").is_string()) {
        finish = choice.at("finish_reason").as_string();
      }
    }
    EXPECT_EQ(content, R"({"t": 21})") << piece;
    EXPECT_EQ(finish, "stop");
  }
  // Without a JSON answer asked for, the same stream is a tool call.
  auto plain = run_stream(kJsonAnswerTranscript, 100000, false, false);
  EXPECT_NE(plain.chunks[1].at("choices").at(0).at("delta").as_object().if_contains("tool_calls"),
            nullptr);
}

TEST(AnthropicResponse, TheJsonAnswersToolInputIsTheContent) {
  const std::string body =
      R"({"id":"m","model":"c","stop_reason":"tool_use","content":[{"type":"tool_use","id":"t",)"
      R"("name":"json_response","input":{"t":21,"ok":true}}],"usage":{"input_tokens":1,"output_tokens":2}})";
  auto out = openai_completion_from_anthropic(body, nullptr, true);
  ASSERT_TRUE(out.has_value());
  const auto choice = json::parse(*out).at("choices").at(0);
  EXPECT_EQ(json::parse(choice.at("message").at("content").as_string()),
            json::parse(R"({"t":21,"ok":true})"));
  EXPECT_EQ(choice.at("message").as_object().if_contains("tool_calls"), nullptr);
  EXPECT_EQ(choice.at("finish_reason"), "stop");
}

TEST(AnthropicStream, UnicodeSplitAcrossPieces) {
  std::string transcript =
      "event: message_start\ndata: "
      "{\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":\"c\"}}\n\n"
      "event: content_block_delta\ndata: "
      "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":"
      "\"h\xC3\xA9 \xF0\x9F\x98\x80\"}}\n\n"
      "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
  auto result = run_stream(transcript, 1, false);
  ASSERT_TRUE(result.done);
  EXPECT_EQ(result.chunks[1].at("choices").as_array()[0].at("delta").at("content"),
            "h\xC3\xA9 \xF0\x9F\x98\x80");
}

TEST(AnthropicStream, ErrorEventEndsTheStreamWithAnOpenAIError) {
  std::string transcript =
      "event: message_start\ndata: "
      "{\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":\"c\"}}\n\n"
      "event: error\ndata: "
      "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}"
      "\n\n";
  auto translator = make_anthropic_stream_translator(false);
  auto out = translator->feed(transcript);
  ASSERT_TRUE(out.has_value());
  EXPECT_TRUE(translator->finished());
  EXPECT_NE(out->find(R"(data: {"error":{"message":"Overloaded","type":"overloaded_error")"),
            std::string::npos)
      << *out;
  EXPECT_EQ(out->find("[DONE]"), std::string::npos);
  // The error as its HTTP status would have been (529 overloaded -> 503): what the relay answers
  // when it is the stream's first event.
  ASSERT_NE(translator->stream_error(), nullptr);
  EXPECT_EQ(core::http_status(*translator->stream_error()), 503);
  // message_start alone sends nothing yet: its role chunk waits for what follows, so an error
  // right after it is the stream's first output (and gets its own status from the relay).
  EXPECT_TRUE(out->starts_with(R"(data: {"error")")) << *out;
}

TEST(AnthropicErrors, StatusMapping) {
  AnthropicProvider provider(
      {"anthropic", *net::Endpoint::parse("https://api.anthropic.com"), "k"});
  auto error = [&](int status, std::string_view type, std::string_view retry = "") {
    return provider.map_error(
        status,
        R"({"type":"error","error":{"type":")" + std::string(type) + R"(","message":"msg"}})",
        retry);
  };
  EXPECT_EQ(core::http_status(error(400, "invalid_request_error")), 400);
  EXPECT_EQ(core::http_status(error(401, "authentication_error")), 401);
  EXPECT_EQ(core::http_status(error(403, "permission_error")), 403);
  EXPECT_EQ(core::http_status(error(404, "not_found_error")), 404);
  EXPECT_EQ(core::http_status(error(413, "request_too_large")), 413);
  auto limited = error(429, "rate_limit_error", "30");
  EXPECT_EQ(core::http_status(limited), 429);
  EXPECT_EQ(limited.retry_after, "30");
  EXPECT_EQ(core::http_status(error(500, "api_error")), 502);
  EXPECT_EQ(core::http_status(error(529, "overloaded_error")), 503);
  EXPECT_EQ(error(400, "invalid_request_error").message, "msg");
  EXPECT_EQ(core::error_type(error(401, "authentication_error")), "authentication_error");
}

TEST(AnthropicModels, ParsesTheModelList) {
  AnthropicProvider provider(
      {"anthropic", *net::Endpoint::parse("https://api.anthropic.com"), "k"});
  auto models = provider.parse_models(
      R"({"data":[{"type":"model","id":"claude-3-5-sonnet-20241022","display_name":"Claude 3.5 Sonnet","created_at":"2024-10-22T00:00:00Z"}],"has_more":false})");
  ASSERT_TRUE(models.has_value());
  ASSERT_EQ(models->size(), 1u);
  EXPECT_EQ((*models)[0].id, "claude-3-5-sonnet-20241022");
  EXPECT_EQ((*models)[0].created, 1729555200);
  auto request = provider.models_request();
  bool version = false;
  bool key = false;
  for (const auto& h : request.headers) {
    version |= h.name == "anthropic-version" && h.value == "2023-06-01";
    key |= h.name == "x-api-key" && h.value == "k";
  }
  EXPECT_TRUE(version && key);
}

}  // namespace
}  // namespace gw::providers
