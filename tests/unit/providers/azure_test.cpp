#include "gw/providers/azure.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "gw/providers/catalog.hpp"
#include "sse_chunks.hpp"

namespace gw::providers {
namespace {

namespace json = boost::json;

AzureOptions options() {
  AzureOptions o;
  o.endpoint = *net::Endpoint::parse("https://res.openai.azure.com");
  o.api_key = "az-key";
  o.api_version = "2024-10-21";
  o.deployments = {"gpt4o-prod", "mini"};
  return o;
}

TEST(Azure, DeploymentUrlApiKeyAndSplicedModel) {
  AzureProvider provider(options());
  std::string body = R"({"model":"azure/gpt4o-prod","messages":[{"role":"user","content":"x"}]})";
  auto info = api::inspect_chat_request(body);
  ASSERT_TRUE(info.has_value());
  std::string deployment = "gpt4o-prod";
  auto prepared = provider.prepare_chat({body, *info, deployment, "rid"});
  ASSERT_TRUE(prepared.has_value());
  EXPECT_EQ(prepared->request.path,
            "/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21");
  bool key = false;
  bool bearer = false;
  for (const auto& h : prepared->request.headers) {
    key |= h.name == "api-key" && h.value == "az-key";
    bearer |= h.name == "authorization";
  }
  EXPECT_TRUE(key);
  EXPECT_FALSE(bearer);
  std::string sent;
  for (auto part : prepared->request.body) {
    sent += part;
  }
  EXPECT_EQ(sent, R"({"model":"gpt4o-prod","messages":[{"role":"user","content":"x"}]})");
}

TEST(Azure, DeploymentsAreListedPrefixed) {
  std::vector<std::unique_ptr<Provider>> list;
  list.push_back(std::make_unique<AzureProvider>(options()));
  ModelCatalog catalog(std::move(list), false, 5);
  const auto& azure = *catalog.find_provider("azure");
  catalog.set_models(azure, azure.configured_models());
  EXPECT_EQ(catalog.list_json(),
            R"({"object":"list","data":[)"
            R"({"id":"azure/gpt4o-prod","object":"model","created":5,"owned_by":"azure"},)"
            R"({"id":"azure/mini","object":"model","created":5,"owned_by":"azure"}]})");
  EXPECT_EQ(catalog.resolve("azure/mini")->upstream_model, "mini");
  EXPECT_TRUE(azure.models_request().path.empty());
}

TEST(Azure, StreamStartsLikeOpenAIs) {
  // Azure's documented stream: a choice-less first chunk with prompt_filter_results, then chunks
  // with content_filter_results, then [DONE].
  const std::string stream =
      R"(data: {"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{"hate":{"filtered":false,"severity":"safe"}}}]})"
      "\n\n"
      R"(data: {"choices":[{"content_filter_results":{},"delta":{"content":"","refusal":null,"role":"assistant"},"finish_reason":null,"index":0,"logprobs":null}],"created":1726000000,"id":"chatcmpl-A1","model":"gpt-4o-2024-05-13","object":"chat.completion.chunk","system_fingerprint":"fp_1"})"
      "\n\n"
      R"(data: {"choices":[{"content_filter_results":{"hate":{"filtered":false,"severity":"safe"}},"delta":{"content":"Hi"},"finish_reason":null,"index":0,"logprobs":null}],"created":1726000000,"id":"chatcmpl-A1","model":"gpt-4o-2024-05-13","object":"chat.completion.chunk"})"
      "\n\n"
      R"(data: {"choices":[{"content_filter_results":{},"delta":{},"finish_reason":"stop","index":0,"logprobs":null}],"created":1726000000,"id":"chatcmpl-A1","model":"gpt-4o-2024-05-13","object":"chat.completion.chunk"})"
      "\n\ndata: [DONE]\n\n";
  for (size_t piece : {1u, 50u, 100000u}) {
    auto normalizer = make_azure_stream_normalizer();
    std::string out;
    for (size_t i = 0; i < stream.size(); i += piece) {
      auto ready = normalizer->feed(std::string_view(stream).substr(i, piece));
      ASSERT_TRUE(ready.has_value());
      out += *ready;
    }
    EXPECT_TRUE(normalizer->finished());
    const auto chunks = testing::parse_sse_output(out).chunks;
    ASSERT_EQ(chunks.size(), 3u) << out;
    for (const auto& c : chunks) {
      EXPECT_EQ(c.at("id"), "chatcmpl-A1");
      EXPECT_FALSE(c.at("choices").as_array().empty());
    }
    EXPECT_EQ(chunks[0].at("choices").as_array()[0].at("delta").at("role"), "assistant");
    EXPECT_TRUE(chunks[0].contains("prompt_filter_results"));
    EXPECT_TRUE(
        chunks[1].at("choices").as_array()[0].as_object().contains("content_filter_results"));
    EXPECT_NE(out.find("data: [DONE]"), std::string::npos);
  }
}

TEST(Azure, FirstChunkWithoutRoleGetsOne) {
  auto normalizer = make_azure_stream_normalizer();
  auto out = normalizer->feed(
      R"(data: {"choices":[{"delta":{"content":"x"},"index":0}],"id":"c1","object":"chat.completion.chunk"})"
      "\n\n");
  ASSERT_TRUE(out.has_value());
  auto chunk = json::parse(out->substr(6)).as_object();
  EXPECT_EQ(chunk.at("choices").as_array()[0].at("delta").at("role"), "assistant");
}

TEST(Azure, ChunksOfUnexpectedShapeAreRelayedNotThrown) {
  // The fuzzer's azure_stream/crash-choice-not-an-object: a choice that is not an object, and
  // one without a delta, go through unchanged (but for the stream's id).
  auto normalizer = make_azure_stream_normalizer();
  auto out = normalizer->feed("data: {\"choices\":[1]}\n\ndata: {\"choices\":[{\"index\":0}]}\n\n");
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(*out, "data: {\"choices\":[1]}\n\ndata: {\"choices\":[{\"index\":0}]}\n\n");
}

TEST(Azure, LaterChunksPassAsSentUnlessTheirIdDiffers) {
  // Only the first chunk with a choice is rewritten; the others pass byte for byte (their own
  // spacing kept, a multi-line one as several data lines), except that a chunk with another id
  // (or none) gets the stream's.
  auto normalizer = make_azure_stream_normalizer();
  auto first =
      normalizer->feed(R"(data: {"choices":[{"delta":{"content":"x"},"index":0}],"id":"c1"})"
                       "\n\n");
  ASSERT_TRUE(first.has_value());
  auto out = normalizer->feed(
      "data: {\"choices\": [{\"delta\": {\"content\": \"y\"}, \"index\": 0}], \"id\": \"c1\"}\n\n"
      "data: {\"choices\":[{\"delta\":{},\"index\":0}],\ndata: \"id\":\"c1\"}\n\n"
      "data: {\"choices\":[{\"delta\":{\"content\":\"z\"},\"index\":0}],\"id\":\"c2\"}\n\n"
      "data: {\"choices\":[{\"delta\":{\"content\":\"w\"},\"index\":0}]}\n\n");
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(
      *out,
      "data: {\"choices\": [{\"delta\": {\"content\": \"y\"}, \"index\": 0}], \"id\": \"c1\"}\n\n"
      "data: {\"choices\":[{\"delta\":{},\"index\":0}],\ndata: \"id\":\"c1\"}\n\n"
      "data: {\"choices\":[{\"delta\":{\"content\":\"z\"},\"index\":0}],\"id\":\"c1\"}\n\n"
      "data: {\"choices\":[{\"delta\":{\"content\":\"w\"},\"index\":0}],\"id\":\"c1\"}\n\n");
}

TEST(Azure, NonJsonEventWithSeveralDataLinesIsRelayedWhole) {
  // The fuzzer's azure_stream/crash-multiline-non-json-data.
  auto normalizer = make_azure_stream_normalizer();
  auto out = normalizer->feed("data: not json\ndata:\ndata: line 3\n\n");
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(*out, "data: not json\ndata: \ndata: line 3\n\n");
}

TEST(Azure, UsageTheGatewayAskedForIsCountedButNotRelayed) {
  // The client did not ask for usage, the gateway did (to count tokens): the choice-less usage
  // chunk is counted and dropped, everything else goes through.
  const std::string stream =
      R"(data: {"choices":[],"id":"","prompt_filter_results":[{"prompt_index":0}]})"
      "\n\n"
      R"(data: {"choices":[{"delta":{"role":"assistant","content":"Hi"},"finish_reason":null,"index":0}],"id":"chatcmpl-A1","object":"chat.completion.chunk","usage":null})"
      "\n\n"
      R"(data: {"choices":[{"delta":{},"finish_reason":"stop","index":0}],"id":"chatcmpl-A1","object":"chat.completion.chunk","usage":null})"
      "\n\n"
      R"(data: {"choices":[],"id":"chatcmpl-A1","object":"chat.completion.chunk","usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11}})"
      "\n\ndata: [DONE]\n\n";
  for (bool strip : {true, false}) {
    auto normalizer = make_azure_stream_normalizer(strip);
    std::string out;
    for (size_t i = 0; i < stream.size(); i += 7) {
      auto ready = normalizer->feed(std::string_view(stream).substr(i, 7));
      ASSERT_TRUE(ready.has_value());
      out += *ready;
    }
    EXPECT_TRUE(normalizer->finished());
    EXPECT_EQ(normalizer->usage().prompt_tokens, 9) << strip;
    EXPECT_EQ(normalizer->usage().completion_tokens, 2) << strip;
    const auto sse = testing::parse_sse_output(out);
    EXPECT_TRUE(sse.done);
    ASSERT_EQ(sse.chunks.size(), strip ? 2u : 3u) << out;
    EXPECT_EQ(sse.chunks[1].at("choices").as_array()[0].at("finish_reason"), "stop");
    for (const auto& c : sse.chunks) {
      EXPECT_EQ(c.at("id"), "chatcmpl-A1");
    }
    if (!strip) {
      EXPECT_TRUE(sse.chunks[2].at("choices").as_array().empty());
      EXPECT_EQ(sse.chunks[2].at("usage").at("total_tokens"), 11);
    }
  }
}

TEST(Azure, ContentFilterErrorKeepsItsShape) {
  AzureProvider provider(options());
  auto error = provider.map_error(
      400,
      R"({"error":{"message":"The response was filtered","type":null,"param":"prompt","code":"content_filter","status":400}})",
      "");
  EXPECT_EQ(core::http_status(error), 400);
  EXPECT_EQ(core::error_code(error), "content_filter");
  EXPECT_EQ(error.param, "prompt");
  // Only a 4xx keeps the upstream's shape: a 5xx is the gateway's 502, the details in its message.
  auto failed = provider.map_error(
      500, R"({"error":{"message":"boom","type":"server_error","param":"x","code":"c"}})", "");
  EXPECT_EQ(core::http_status(failed), 502);
  EXPECT_TRUE(failed.param.empty());
  EXPECT_TRUE(failed.code.empty());
  EXPECT_NE(failed.message.find("boom"), std::string::npos);
}

}  // namespace
}  // namespace gw::providers
