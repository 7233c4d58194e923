// Embeddings in every provider: the upstream request each one sends, and Ollama's answer
// translated to OpenAI's list format (floats as written, or base64 float32).

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <cstring>

#include "gw/providers/anthropic.hpp"
#include "gw/providers/azure.hpp"
#include "gw/providers/ollama.hpp"
#include "gw/providers/openai_compatible.hpp"

namespace gw::providers {
namespace {

namespace json = boost::json;

std::string joined(const PreparedRequest& prepared) {
  std::string out;
  for (auto part : prepared.request.body) {
    out += part;
  }
  return out;
}

std::string header(const PreparedRequest& prepared, std::string_view name) {
  for (const auto& h : prepared.request.headers) {
    if (h.name == name) {
      return std::string(h.value);
    }
  }
  return "<none>";
}

// A request body with its inspection, kept together (the call views both).
struct Request {
  explicit Request(std::string text) : body(std::move(text)) {
    auto inspected = api::inspect_embeddings_request(body);
    EXPECT_TRUE(inspected.has_value()) << body;
    info = *inspected;
  }
  EmbeddingsCall call(std::string_view upstream_model) {
    return {body, info, upstream_model, "rid-1"};
  }
  std::string body;
  api::EmbeddingsRequestInfo info;
};

TEST(OpenAICompatibleEmbeddings, PostsTheClientBodyWithTheUpstreamModel) {
  OpenAICompatibleProvider provider(
      {"openai", *net::Endpoint::parse("https://api.openai.com/v1"), "sk-1", false});
  Request request(
      R"({"model":"openai/text-embedding-3-small","input":"x","encoding_format":"base64"})");
  auto prepared = provider.prepare_embeddings(request.call("text-embedding-3-small"));
  ASSERT_TRUE(prepared.has_value());
  EXPECT_EQ(prepared->request.path, "/v1/embeddings");
  EXPECT_EQ(header(*prepared, "authorization"), "Bearer sk-1");
  EXPECT_EQ(header(*prepared, "x-request-id"), "rid-1");
  EXPECT_EQ(joined(*prepared),
            R"({"model":"text-embedding-3-small","input":"x","encoding_format":"base64"})");
}

TEST(AzureEmbeddings, DeploymentUrlWithApiVersionAndKey) {
  AzureOptions options;
  options.endpoint = *net::Endpoint::parse("https://res.openai.azure.com");
  options.api_key = "az-key";
  options.api_version = "2024-10-21";
  AzureProvider provider(options);
  Request request(R"({"model":"azure/embed prod","input":["a"]})");
  auto prepared = provider.prepare_embeddings(request.call("embed prod"));
  ASSERT_TRUE(prepared.has_value());
  EXPECT_EQ(prepared->request.path,
            "/openai/deployments/embed%20prod/embeddings?api-version=2024-10-21");
  EXPECT_EQ(header(*prepared, "api-key"), "az-key");
  EXPECT_EQ(header(*prepared, "authorization"), "<none>");
  EXPECT_EQ(joined(*prepared), R"({"model":"embed prod","input":["a"]})");
}

TEST(AnthropicEmbeddings, AreAPlain400NamingTheProvider) {
  AnthropicProvider provider({"anthropic", *net::Endpoint::parse("https://api.anthropic.com")});
  Request request(R"({"model":"anthropic/claude","input":"x"})");
  auto prepared = provider.prepare_embeddings(request.call("claude"));
  ASSERT_FALSE(prepared.has_value());
  EXPECT_EQ(core::http_status(prepared.error()), 400);
  EXPECT_EQ(prepared.error().param, "model");
  EXPECT_NE(prepared.error().message.find("'anthropic', which has no embeddings API"),
            std::string::npos);
}

class OllamaEmbeddingsTest : public ::testing::Test {
 protected:
  OllamaProvider provider_{{"ollama", *net::Endpoint::parse("http://localhost:11434")}};

  tl::expected<std::string, core::Error> translate(std::string_view client_body,
                                                   std::string answer) {
    Request request{std::string(client_body)};
    return provider_.embeddings_translator(request.call("m"))->complete(std::move(answer));
  }
};

TEST_F(OllamaEmbeddingsTest, RequestIsApiEmbedWithTheClientsInputBytes) {
  Request request(
      R"({"model":"ollama/nomic","input": ["a", "b\u00e9"] ,"dimensions":64,"user":"u"})");
  auto prepared = provider_.prepare_embeddings(request.call("nomic-embed-text"));
  ASSERT_TRUE(prepared.has_value());
  EXPECT_EQ(prepared->request.path, "/api/embed");
  EXPECT_EQ(
      joined(*prepared),
      R"({"model":"nomic-embed-text","truncate":false,"dimensions":64,"input":["a", "b\u00e9"]})");
}

TEST_F(OllamaEmbeddingsTest, TokenInputsAndUnknownMembersAreRefused) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"model":"m","input":[1,2]})", "input"},
      {R"({"model":"m","input":[[1],[2]]})", "input"},
      {R"({"model":"m","input":"x","input_type":"query"})", "input_type"}};
  for (const auto& [body, param] : cases) {
    Request request(body);
    auto prepared = provider_.prepare_embeddings(request.call("m"));
    ASSERT_FALSE(prepared.has_value()) << body;
    EXPECT_EQ(core::http_status(prepared.error()), 400) << body;
    EXPECT_EQ(prepared.error().param, param) << body;
  }
}

TEST_F(OllamaEmbeddingsTest, FloatsAreCopiedAsWrittenWithUsage) {
  // The answer of Ollama's API documentation, two vectors.
  auto out = translate(R"({"model":"m","input":["a","b"]})",
                       R"({"model":"embeddinggemma","embeddings":[
      [0.010071029, -0.0017594862, 1e-7],[2,-0.5,0]],
      "total_duration":14143917,"load_duration":1019500,"prompt_eval_count":8})");
  ASSERT_TRUE(out.has_value()) << out.error().message;
  EXPECT_EQ(
      *out,
      R"({"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.010071029,-0.0017594862,1e-7]},)"
      R"({"object":"embedding","index":1,"embedding":[2,-0.5,0]}],"model":"embeddinggemma",)"
      R"("usage":{"prompt_tokens":8,"total_tokens":8}})");
}

TEST_F(OllamaEmbeddingsTest, OddNumberTokensAreWrittenAnewAndUnknownUsageIsLeftOut) {
  // Found by the fuzzer: valid JSON numbers that many parsers refuse (an exponent beyond an int).
  auto out = translate(R"({"model":"m","input":"a"})",
                       R"({"model":"m","embeddings":[[2e-3000000000000,1e+0400,)"
                       R"(0.10000000000000000000000000000000000001]]})");
  ASSERT_FALSE(out.has_value());  // 1e+400 is beyond a double: not a vector
  out = translate(R"({"model":"m","input":"a"})",
                  R"({"model":"m","embeddings":[[2e-3000000000000,1.5E+001,)"
                  R"(0.10000000000000000000000000000000000001]]})");
  ASSERT_TRUE(out.has_value()) << out.error().message;
  EXPECT_EQ(
      *out,
      R"({"object":"list","data":[{"object":"embedding","index":0,"embedding":[0,1.5E+001,0.1]}],)"
      R"("model":"m"})");
}

TEST_F(OllamaEmbeddingsTest, Base64IsLittleEndianFloat32) {
  auto out = translate(R"({"model":"m","input":"a","encoding_format":"base64"})",
                       R"({"model":"m","embeddings":[[1.0,-2.5]],"prompt_eval_count":1})");
  ASSERT_TRUE(out.has_value()) << out.error().message;
  // 1.0f = 00 00 80 3f, -2.5f = 00 00 20 c0 → base64 "AACAPwAAIMA="
  EXPECT_NE(out->find(R"("embedding":"AACAPwAAIMA=")"), std::string::npos) << *out;
}

TEST_F(OllamaEmbeddingsTest, AnswersThatLoseOrBreakVectorsAre502s) {
  const char* client = R"({"model":"m","input":["a","b"]})";
  for (const char* answer :
       {R"({"model":"m","embeddings":[[1]]})",  // one vector for two inputs
        R"({"model":"m"})", R"({"embeddings":[[1],["x"]]})", R"({"embeddings":[[1],{}]})",
        R"({"embeddings":{}})", "[1]", R"({"embeddings":[[1],[2]]} trailing)", "<html>"}) {
    auto out = translate(client, answer);
    ASSERT_FALSE(out.has_value()) << answer;
    EXPECT_EQ(core::http_status(out.error()), 502) << answer;
  }
}

}  // namespace
}  // namespace gw::providers
