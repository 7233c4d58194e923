#include "gw/metrics/metrics.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <sstream>
#include <thread>

namespace gw::metrics {
namespace {

// The exposition's lines that are not comments.
std::vector<std::string> sample_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] != '#') {
      lines.push_back(line);
    }
  }
  return lines;
}

bool has_line(const std::string& text, const std::string& wanted) {
  for (const auto& line : sample_lines(text)) {
    if (line == wanted) {
      return true;
    }
  }
  return false;
}

RequestSample chat(double duration, std::string_view outcome = {}) {
  RequestSample s;
  s.endpoint = "/v1/chat/completions";
  s.model = "llama3";
  s.provider = "ollama";
  s.status = 200;
  s.duration = duration;
  s.stream_outcome = outcome;
  return s;
}

TEST(Metrics, CountersCarryTheirLabelsAndTypes) {
  Metrics metrics;
  metrics.request_started("/v1/chat/completions");
  auto sample = chat(0.1);
  sample.prompt_tokens = 7;
  sample.completion_tokens = 3;
  metrics.record(sample);
  metrics.upstream_error("ollama", "timeout");
  const auto text = metrics.serialize();
  EXPECT_NE(text.find("# TYPE llm_gateway_requests_total counter"), std::string::npos);
  EXPECT_NE(text.find("# TYPE llm_gateway_request_duration_seconds histogram"), std::string::npos);
  EXPECT_TRUE(has_line(text, R"(llm_gateway_requests_total{endpoint="/v1/chat/completions",)"
                             R"(model="llama3",provider="ollama",status="200"} 1)"));
  EXPECT_TRUE(
      has_line(text, R"(llm_gateway_prompt_tokens_total{model="llama3",provider="ollama"} 7)"));
  EXPECT_TRUE(
      has_line(text, R"(llm_gateway_completion_tokens_total{model="llama3",provider="ollama"} 3)"));
  EXPECT_TRUE(
      has_line(text, R"(llm_gateway_requests_in_flight{endpoint="/v1/chat/completions"} 0)"));
  EXPECT_TRUE(
      has_line(text, R"(llm_gateway_upstream_errors_total{kind="timeout",provider="ollama"} 1)"));
}

TEST(Metrics, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  Metrics metrics;
  for (double d : {0.003, 0.2, 700.0}) {
    metrics.request_started("/v1/chat/completions");
    metrics.record(chat(d));
  }
  const auto text = metrics.serialize();
  const std::string prefix =
      R"(llm_gateway_request_duration_seconds_bucket{endpoint="/v1/chat/completions",model="llama3",provider="ollama",le=")";
  EXPECT_TRUE(has_line(text, prefix + R"(0.005"} 1)"));
  EXPECT_TRUE(has_line(text, prefix + R"(0.1"} 1)"));
  EXPECT_TRUE(has_line(text, prefix + R"(0.25"} 2)"));
  EXPECT_TRUE(has_line(text, prefix + R"(600"} 2)"));
  EXPECT_TRUE(has_line(text, prefix + R"(+Inf"} 3)"));
  const std::string labels =
      R"({endpoint="/v1/chat/completions",model="llama3",provider="ollama"})";
  EXPECT_TRUE(has_line(text, "llm_gateway_request_duration_seconds_count" + labels + " 3"));
  EXPECT_TRUE(has_line(text, "llm_gateway_request_duration_seconds_sum" + labels + " 700.203"));
}

TEST(Metrics, StreamsAddTimeToFirstTokenAndOutcome) {
  Metrics metrics;
  metrics.request_started("/v1/chat/completions");
  auto sample = chat(1.0, "completed");
  sample.ttft = 0.02;
  sample.time_per_token = 0.004;
  metrics.record(sample);
  const auto text = metrics.serialize();
  EXPECT_TRUE(has_line(
      text,
      R"(llm_gateway_stream_outcomes_total{model="llama3",outcome="completed",provider="ollama"} 1)"));
  EXPECT_TRUE(has_line(
      text,
      R"(llm_gateway_time_to_first_token_seconds_count{model="llama3",provider="ollama"} 1)"));
  EXPECT_TRUE(has_line(
      text,
      R"(llm_gateway_time_per_output_token_seconds_bucket{model="llama3",provider="ollama",le="0.005"} 1)"));
}

TEST(Metrics, LabelValuesAreEscaped) {
  Metrics metrics;
  metrics.upstream_error("a\"b\\c\nd", "reset");
  EXPECT_TRUE(
      has_line(metrics.serialize(),
               R"(llm_gateway_upstream_errors_total{kind="reset",provider="a\"b\\c\nd"} 1)"));
}

TEST(Metrics, EndpointLabelsAreAFixedSet) {
  EXPECT_EQ(endpoint_label("/v1/chat/completions"), "/v1/chat/completions");
  EXPECT_EQ(endpoint_label("/v1/messages"), "/v1/messages");
  EXPECT_EQ(endpoint_label("/internal/workers"), "/internal/workers");
  EXPECT_EQ(endpoint_label("/v1/models/gpt-4o"), "/v1/models/{id}");
  EXPECT_EQ(endpoint_label("/internal/workers/w-1"), "/internal/workers/{id}");
  EXPECT_EQ(endpoint_label("/random/client/path"), "other");
}

TEST(Metrics, BucketsCoverLlmLatencies) {
  EXPECT_DOUBLE_EQ(latency_buckets().front(), 0.005);
  EXPECT_DOUBLE_EQ(latency_buckets().back(), 600);
  for (const auto* buckets : {&latency_buckets(), &token_gap_buckets(), &overhead_buckets()}) {
    EXPECT_TRUE(std::is_sorted(buckets->begin(), buckets->end()));
  }
}

TEST(Metrics, ThreadsRecordingAtOnceLoseNothing) {
  Metrics metrics;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 5000;
  std::atomic<int> done{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&metrics, &done, t] {
      for (int i = 0; i < kPerThread; ++i) {
        metrics.request_started("/v1/chat/completions");
        auto sample = chat(0.125);  // exact in binary: a scrape's sum is exactly 0.125 × count
        sample.status = (i + t) % 2 == 0 ? 200 : 502;  // two series, each used by every thread
        sample.completion_tokens = 1;
        metrics.record(sample);
      }
      done.fetch_add(1);
    });
  }
  // Scrapes meanwhile see each thread's histogram shard whole: its sum is its count's.
  const std::string labels =
      R"({endpoint="/v1/chat/completions",model="llama3",provider="ollama"})";
  auto count_and_sum = [&](const std::string& text) {
    double count = -1;
    double sum = -1;
    for (const auto& line : sample_lines(text)) {
      if (line.starts_with("llm_gateway_request_duration_seconds_count" + labels + " ")) {
        count = std::stod(line.substr(line.rfind(' ')));
      } else if (line.starts_with("llm_gateway_request_duration_seconds_sum" + labels + " ")) {
        sum = std::stod(line.substr(line.rfind(' ')));
      }
    }
    return std::pair{count, sum};
  };
  std::string torn;
  while (done.load() < kThreads && torn.empty()) {
    const auto [count, sum] = count_and_sum(metrics.serialize());
    if (count >= 0 && sum != count * 0.125) {
      torn = std::to_string(count) + " observations summing to " + std::to_string(sum);
    }
  }
  for (auto& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(torn, "");
  const auto text = metrics.serialize();
  EXPECT_EQ(count_and_sum(text).first, kThreads * kPerThread);
  constexpr int kHalf = kThreads * kPerThread / 2;
  EXPECT_TRUE(has_line(text, R"(llm_gateway_requests_total{endpoint="/v1/chat/completions",)"
                             R"(model="llama3",provider="ollama",status="200"} )" +
                                 std::to_string(kHalf)));
  EXPECT_TRUE(has_line(text, R"(llm_gateway_requests_total{endpoint="/v1/chat/completions",)"
                             R"(model="llama3",provider="ollama",status="502"} )" +
                                 std::to_string(kHalf)));
  EXPECT_TRUE(has_line(text, R"(llm_gateway_completion_tokens_total{model="llama3",provider=")"
                             R"(ollama"} )" +
                                 std::to_string(2 * kHalf)));
  EXPECT_TRUE(
      has_line(text, R"(llm_gateway_requests_in_flight{endpoint="/v1/chat/completions"} 0)"));
}

TEST(Metrics, ASecondInstanceOnTheSameThreadHasItsOwnSeries) {
  // The per-thread cache of series must not carry one instance's series into another's, even
  // when the second is built where the first was.
  for (int round = 0; round < 3; ++round) {
    auto metrics = std::make_unique<Metrics>();
    metrics->request_started("/v1/chat/completions");
    metrics->record(chat(0.1));
    EXPECT_TRUE(has_line(metrics->serialize(),
                         R"(llm_gateway_requests_total{endpoint="/v1/chat/completions",)"
                         R"(model="llama3",provider="ollama",status="200"} 1)"))
        << round;
  }
  Metrics a;
  Metrics b;
  a.record(chat(0.1));
  b.record(chat(0.1));
  a.record(chat(0.1));
  EXPECT_TRUE(has_line(a.serialize(),
                       R"(llm_gateway_requests_total{endpoint="/v1/chat/completions",)"
                       R"(model="llama3",provider="ollama",status="200"} 2)"));
  EXPECT_TRUE(has_line(b.serialize(),
                       R"(llm_gateway_requests_total{endpoint="/v1/chat/completions",)"
                       R"(model="llama3",provider="ollama",status="200"} 1)"));
}

}  // namespace
}  // namespace gw::metrics
