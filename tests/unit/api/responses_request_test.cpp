#include "gw/api/responses_request.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace gw::api {
namespace {

namespace json = boost::json;

// The chat body a Responses body translates to, as a JSON value.
json::value chat_of(const std::string& body) {
  auto translated = responses_to_chat(body);
  EXPECT_TRUE(translated.has_value()) << body << ": " << translated.error().message;
  if (!translated) {
    return nullptr;
  }
  // The translation must itself be a valid chat request, read as the gateway reads it.
  auto info = inspect_chat_request(translated->chat.body);
  EXPECT_TRUE(info.has_value()) << translated->chat.body;
  if (info) {
    EXPECT_EQ(info->model, translated->chat.info.model);
    EXPECT_EQ(info->stream, translated->chat.info.stream);
    EXPECT_EQ(info->model_begin, translated->chat.info.model_begin);
    EXPECT_EQ(info->max_tokens_keys, translated->chat.info.max_tokens_keys);
  }
  return json::parse(translated->chat.body);
}

std::string refusal_param(const std::string& body) {
  auto translated = responses_to_chat(body);
  EXPECT_FALSE(translated.has_value()) << body;
  if (translated) {
    return "(accepted)";
  }
  EXPECT_EQ(translated.error().errc, core::Errc::kInvalidRequest);
  return translated.error().param;
}

TEST(InspectResponses, ReadsModelRangeAndStream) {
  const std::string body = R"({"input":"hi", "model" : "openai/gpt-4o", "stream":true})";
  auto info = inspect_responses_request(body);
  ASSERT_TRUE(info.has_value()) << info.error().message;
  EXPECT_EQ(info->model, "openai/gpt-4o");
  EXPECT_TRUE(info->stream);
  EXPECT_EQ(body.substr(info->model_begin, info->model_end - info->model_begin),
            R"("openai/gpt-4o")");
}

TEST(InspectResponses, RefusesWhatRoutingCannotDecide) {
  for (const std::string body :
       {R"({"input":"hi"})", R"({"model":"","input":"hi"})", R"({"model":"m","stream":"yes"})",
        R"({"model":"m","stream":true,"stream":false})", R"([1])", R"({"model":"m"} trailing)"}) {
    auto info = inspect_responses_request(body);
    EXPECT_FALSE(info.has_value()) << body;
  }
  // Other fields are the upstream's (native) or the translator's business.
  EXPECT_TRUE(inspect_responses_request(R"({"model":"m","previous_response_id":"resp_1"})"));
}

TEST(ResponsesToChat, InstructionsAndStringInputBecomeSystemAndUserMessages) {
  const auto chat =
      chat_of(R"({"model":"m","instructions":"Be brief.","input":"Hello","max_output_tokens":20,)"
              R"("temperature":0.5,"top_p":0.9,"user":"u1","metadata":{"k":"v"}})");
  EXPECT_EQ(chat.at("messages"), json::parse(R"([{"role":"system","content":"Be brief."},)"
                                             R"({"role":"user","content":"Hello"}])"));
  EXPECT_EQ(chat.at("max_tokens"), 20);
  EXPECT_EQ(chat.at("temperature"), 0.5);
  EXPECT_EQ(chat.at("top_p"), 0.9);
  EXPECT_EQ(chat.at("user"), "u1");
  // metadata is the client's own: repeated in the response, not sent to the chat upstream.
  EXPECT_EQ(chat.as_object().if_contains("metadata"), nullptr);
}

// Usage is asked for by the chat path (upstream_chat_body), which also knows the servers that
// refuse stream_options: the translation leaves it out.
TEST(ResponsesToChat, AStreamIsAChatStream) {
  const auto chat = chat_of(R"({"model":"m","input":"x","stream":true,"stream_options":{}})");
  EXPECT_EQ(chat.at("stream"), true);
  EXPECT_EQ(chat.as_object().if_contains("stream_options"), nullptr);
}

TEST(ResponsesToChat, AssistantTextAfterItsOwnCallsJoinsThatTurn) {
  const auto chat = chat_of(R"({"model":"m","input":[{"role":"user","content":"q"},
      {"type":"function_call","call_id":"c","name":"f","arguments":"{}"},
      {"role":"assistant","content":"Looking."},
      {"type":"function_call_output","call_id":"c","output":"r"}]})");
  const auto& messages = chat.at("messages").as_array();
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_EQ(messages[1].at("content"), "Looking.");
  EXPECT_EQ(messages[1].at("tool_calls").as_array().size(), 1u);
  EXPECT_EQ(messages[2].at("role"), "tool");
}

// Text-only parts of a non-user message become one string: what every chat dialect takes.
TEST(ResponsesToChat, ItemsBecomeMessagesToolCallsAndToolResults) {
  const auto chat = chat_of(R"({"model":"m","input":[
      {"role":"developer","content":"Rules."},
      {"type":"message","role":"user","content":[{"type":"input_text","text":"Look:"},
        {"type":"input_image","image_url":"data:image/png;base64,AAAA","detail":"low"}]},
      {"type":"message","role":"assistant","content":[{"type":"output_text","text":"Let me "},
        {"type":"output_text","text":"check."}]},
      {"type":"function_call","call_id":"call_1","name":"search","arguments":"{\"q\":1}"},
      {"type":"function_call","call_id":"call_2","name":"fetch","arguments":"{}"},
      {"type":"function_call_output","call_id":"call_1","output":"found"},
      {"type":"function_call_output","call_id":"call_2","output":[{"type":"input_text","text":"page"}]}
    ]})");
  EXPECT_EQ(chat.at("messages"), json::parse(R"([
      {"role":"system","content":"Rules."},
      {"role":"user","content":[{"type":"text","text":"Look:"},
        {"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA","detail":"low"}}]},
      {"role":"assistant","content":"Let me check.","tool_calls":[
        {"id":"call_1","type":"function","function":{"name":"search","arguments":"{\"q\":1}"}},
        {"id":"call_2","type":"function","function":{"name":"fetch","arguments":"{}"}}]},
      {"role":"tool","tool_call_id":"call_1","content":"found"},
      {"role":"tool","tool_call_id":"call_2","content":"page"}])"));
}

TEST(ResponsesToChat, FunctionCallWithoutAssistantTextOpensAnAssistantMessage) {
  const auto chat = chat_of(R"({"model":"m","input":[{"role":"user","content":"q"},
      {"type":"function_call","call_id":"c","name":"f","arguments":"{}"},
      {"type":"function_call_output","call_id":"c","output":"r"}]})");
  const auto& messages = chat.at("messages").as_array();
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_EQ(messages[1].at("role"), "assistant");
  EXPECT_TRUE(messages[1].at("content").is_null());
  EXPECT_EQ(messages[1].at("tool_calls").as_array().size(), 1u);
}

TEST(ResponsesToChat, ToolsToolChoiceAndTextFormatTakeTheChatShape) {
  const auto chat = chat_of(R"({"model":"m","input":"x",
      "tools":[{"type":"function","name":"f","description":"d","parameters":{"type":"object"},"strict":true}],
      "tool_choice":{"type":"function","name":"f"},"parallel_tool_calls":false,
      "text":{"format":{"type":"json_schema","name":"out","schema":{"type":"object"},"strict":true}}})");
  EXPECT_EQ(chat.at("tools"), json::parse(R"([{"type":"function","function":{"name":"f",)"
                                          R"("description":"d","parameters":{"type":"object"},)"
                                          R"("strict":true}}])"));
  EXPECT_EQ(chat.at("tool_choice"), json::parse(R"({"type":"function","function":{"name":"f"}})"));
  EXPECT_EQ(chat.at("parallel_tool_calls"), false);
  EXPECT_EQ(chat.at("response_format"),
            json::parse(R"({"type":"json_schema","json_schema":{"name":"out",)"
                        R"("schema":{"type":"object"},"strict":true}})"));
  EXPECT_EQ(chat_of(R"({"model":"m","input":"x","text":{"format":{"type":"json_object"}}})")
                .at("response_format"),
            json::parse(R"({"type":"json_object"})"));
  EXPECT_EQ(chat_of(R"({"model":"m","input":"x","tool_choice":"required"})").at("tool_choice"),
            "required");
}

TEST(ResponsesToChat, RefusesWhatNeedsOpenAIsServerSideNamingTheField) {
  EXPECT_EQ(refusal_param(R"({"model":"m","input":"x","previous_response_id":"resp_1"})"),
            "previous_response_id");
  EXPECT_EQ(refusal_param(R"({"model":"m","input":"x","conversation":"conv_1"})"), "conversation");
  EXPECT_EQ(refusal_param(R"({"model":"m","input":"x","background":true})"), "background");
  EXPECT_EQ(refusal_param(R"({"model":"m","input":"x","store":true})"), "store");
  EXPECT_EQ(refusal_param(R"({"model":"m","input":"x","include":["file_search_call.results"]})"),
            "include");
  EXPECT_EQ(refusal_param(R"({"model":"m","input":"x","tools":[{"type":"web_search"}]})"),
            "tools[0].type");
  EXPECT_EQ(refusal_param(R"({"model":"m","input":[{"type":"item_reference","id":"msg_1"}]})"),
            "input[0].type");
  EXPECT_EQ(refusal_param(R"({"model":"m","input":[{"role":"user","content":[)"
                          R"({"type":"input_file","file_id":"f"}]}]})"),
            "input[0].content[0].type");
  EXPECT_EQ(refusal_param(R"({"model":"m","input":"x","reasoning":{"summary":"auto"}})"),
            "reasoning.summary");
  EXPECT_EQ(refusal_param(R"({"model":"m","input":"x","reasoning":{"generate_summary":"x"}})"),
            "reasoning.generate_summary");
  EXPECT_EQ(refusal_param(R"({"model":"m","input":"x","store":"no"})"), "store");
  EXPECT_EQ(refusal_param(R"({"model":"m","input":"x","truncation":0})"), "truncation");
  EXPECT_EQ(refusal_param(R"({"model":"m","input":"x","frobnicate":1})"), "frobnicate");
  EXPECT_EQ(refusal_param(R"({"model":"m"})"), "input");
  EXPECT_EQ(refusal_param(R"({"model":"m","input":[{"role":"tool","content":"x"}]})"),
            "input[0].role");
  EXPECT_EQ(refusal_param(R"({"model":"m","input":[{"type":"function_call","name":"f"}]})"),
            "input[0].call_id");
  EXPECT_EQ(refusal_param(R"({"model":"m","input":"x","text":{"verbosity":"low"}})"),
            "text.verbosity");
}

TEST(ResponsesToChat, AcceptsSettingsThatAreOff) {
  chat_of(R"({"model":"m","input":"x","store":false,"background":false,"include":[],)"
          R"("truncation":"disabled","previous_response_id":null,"stream_options":{},)"
          R"("reasoning":{"effort":null}})");
}

TEST(ResponsesToChat, EchoesTheSettingsOrTheirDefaults) {
  auto translated = responses_to_chat(
      R"({"model":"m","input":"x","instructions":"I","tools":[{"type":"function","name":"f"}]})");
  ASSERT_TRUE(translated.has_value());
  const auto echoed = json::parse("{" + translated->echoed + "}").as_object();
  EXPECT_EQ(echoed.at("instructions"), "I");
  EXPECT_EQ(echoed.at("tools"), json::parse(R"([{"type":"function","name":"f"}])"));
  EXPECT_EQ(echoed.at("store"), false);
  EXPECT_EQ(echoed.at("tool_choice"), "auto");
  EXPECT_TRUE(echoed.at("max_output_tokens").is_null());
  EXPECT_EQ(echoed.at("text"), json::parse(R"({"format":{"type":"text"}})"));
}

}  // namespace
}  // namespace gw::api
