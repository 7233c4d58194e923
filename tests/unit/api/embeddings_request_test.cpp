#include "gw/api/embeddings_request.hpp"

#include <gtest/gtest.h>

namespace gw::api {
namespace {

std::string spliced(const std::string& body, std::string_view model) {
  auto info = inspect_embeddings_request(body);
  EXPECT_TRUE(info.has_value());
  std::string storage;
  std::vector<std::string_view> parts;
  upstream_embeddings_body(body, *info, model, storage, parts);
  std::string out;
  for (auto part : parts) {
    out += part;
  }
  return out;
}

TEST(InspectEmbeddings, ReadsEachInputShapeWithItsCountAndRange) {
  struct Case {
    std::string input;
    EmbeddingInput shape;
    size_t count;
  };
  for (const Case& c : {Case{R"("one text")", EmbeddingInput::kText, 1},
                        Case{R"(["a", "b\"c", ""])", EmbeddingInput::kTexts, 3},
                        Case{R"([1, 2, 3])", EmbeddingInput::kTokens, 1},
                        Case{R"([[1], [2, 3]])", EmbeddingInput::kTokenArrays, 2}}) {
    const std::string body = R"({"input": )" + c.input + R"( , "model":"m"})";
    auto info = inspect_embeddings_request(body);
    ASSERT_TRUE(info.has_value()) << c.input << ": " << info.error().message;
    EXPECT_EQ(info->input, c.shape) << c.input;
    EXPECT_EQ(info->input_count, c.count) << c.input;
    EXPECT_EQ(body.substr(info->input_begin, info->input_end - info->input_begin), c.input);
    EXPECT_EQ(info->model, "m");
    EXPECT_EQ(info->encoding, EmbeddingEncoding::kUnspecified);
  }
}

TEST(InspectEmbeddings, ReadsEncodingAndDimensions) {
  auto info = inspect_embeddings_request(
      R"({"model":"m","input":"x","encoding_format":"base64","dimensions":256,"user":"u"})");
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->encoding, EmbeddingEncoding::kBase64);
  EXPECT_EQ(info->dimensions, 256);
  info = inspect_embeddings_request(R"({"model":"m","input":"x","encoding_format":"float"})");
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->encoding, EmbeddingEncoding::kFloat);
  EXPECT_FALSE(info->dimensions.has_value());
  EXPECT_EQ(info->other_member, "");
  info = inspect_embeddings_request(R"({"model":"m","input":"x","extra":{"a":1},"more":2})");
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->other_member, "extra");
}

TEST(InspectEmbeddings, RefusesWhatOpenAIRefusesNamingTheField) {
  const std::pair<std::string, std::string> cases[] = {
      {R"({"input":"x"})", "model"},
      {R"({"model":"m"})", "input"},
      {R"({"model":"m","input":[]})", "input"},
      {R"({"model":"m","input":{}})", "input"},
      {R"({"model":"m","input":null})", "input"},
      {R"({"model":"m","input":["a",1]})", "input"},
      {R"({"model":"m","input":[1,"a"]})", "input"},
      {R"({"model":"m","input":[1,-2]})", "input"},
      {R"({"model":"m","input":[[1],[]]})", "input"},
      {R"({"model":"m","input":[[1],["a"]]})", "input"},
      {R"({"model":"m","input":"a","input":"b"})", "input"},
      {R"({"model":"m","input":"x","encoding_format":"hex"})", "encoding_format"},
      {R"({"model":"m","input":"x","encoding_format":1})", "encoding_format"},
      {R"({"model":"m","input":"x","dimensions":0})", "dimensions"},
      {R"({"model":"m","input":"x","dimensions":1.5})", "dimensions"},
      {R"({"model":"m","input":"x","user":1})", "user"},
      {R"({"model":"","input":"x"})", "model"},
  };
  for (const auto& [body, param] : cases) {
    auto info = inspect_embeddings_request(body);
    ASSERT_FALSE(info.has_value()) << body;
    EXPECT_EQ(core::http_status(info.error()), 400) << body;
    EXPECT_EQ(info.error().param, param) << body;
  }
  for (const std::string body :
       {"", "[]", R"({"model":"m","input":"x"} x)", R"({"model":"m","input":"x","other":tru})"}) {
    auto info = inspect_embeddings_request(body);
    ASSERT_FALSE(info.has_value()) << body;
    EXPECT_EQ(core::http_status(info.error()), 400) << body;
  }
}

TEST(UpstreamEmbeddingsBody, SplicesOnlyTheModel) {
  EXPECT_EQ(spliced(R"({"model":"openai/e","input":["a"],"dimensions":3})", "e"),
            R"({"model":"e","input":["a"],"dimensions":3})");
  const std::string same = R"({"input":"x", "model":"e"})";
  EXPECT_EQ(spliced(same, "e"), same);
  EXPECT_EQ(spliced(same, "a\"b"), R"({"input":"x", "model":"a\"b"})");
}

}  // namespace
}  // namespace gw::api
