// The real qkv-server serving each Hub-shaped sentence-transformers directory of tests/data/hub/ (written
// by tests/data/make_hub_models.py; the core side is tests/core/hub_model_test.cc): Encode over gRPC with
// text inputs (so the directory's tokenizer.json runs) against the float64 goldens, with the model's own
// pooling and normalization (1_Pooling, modules.json); GetModelInfo reports the token limit that
// sentence_bert_config.json's max_seq_length caps; truncation cuts to it and an over-long text without
// truncation is INVALID_ARGUMENT naming it; and the qkv CLI's encode returns the same embedding.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "qkv/v1/encoder.grpc.pb.h"
#include "tests/client/process_util.h"
#include "tests/core/hub_fixtures.h"

namespace qkv {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using testing_util::ServerProcess;

using testing_util::HubDir;
using testing_util::ReadJson;

double MaxDiff(const v1::Tensor& got, const std::vector<double>& want) {
  if (got.values_size() != static_cast<int>(want.size())) return INFINITY;
  double diff = 0;
  for (size_t i = 0; i < want.size(); ++i) diff = std::max(diff, std::abs(got.values(i) - want[i]));
  return diff;
}

std::vector<double> Flatten(const json& nested) {
  std::vector<double> out;
  if (!nested.is_array()) return {nested.get<double>()};
  for (const json& item : nested) {
    std::vector<double> inner = Flatten(item);
    out.insert(out.end(), inner.begin(), inner.end());
  }
  return out;
}

class HubModelsBinaryTest : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    for (const std::string& bin : {testing_util::QkvBinary(), testing_util::ServerBinary()}) {
      if (!testing_util::FileExists(bin)) GTEST_SKIP() << bin << " is not built";
    }
  }
};

TEST_P(HubModelsBinaryTest, EncodesTextLikeSentenceTransformers) {
  const std::string family = GetParam();
  const json goldens = ReadJson(HubDir(family) + ".goldens.json");
  const int port = testing_util::PickFreePort();
  absl::StatusOr<std::unique_ptr<ServerProcess>> server =
      ServerProcess::Start(testing_util::ServerBinary(),
                           {"--model", HubDir(family), "--listen", absl::StrCat("127.0.0.1:", port)}, port);
  ASSERT_TRUE(server.ok()) << server.status();
  std::unique_ptr<v1::EncoderService::Stub> stub = v1::EncoderService::NewStub(
      grpc::CreateChannel((*server)->target(), grpc::InsecureChannelCredentials()));
  auto context = [] {
    auto c = std::make_unique<grpc::ClientContext>();
    c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    return c;
  };

  v1::GetModelInfoResponse info;
  ASSERT_TRUE(stub->GetModelInfo(context().get(), v1::GetModelInfoRequest(), &info).ok());
  const int max_tokens = goldens.at("max_tokens").get<int>();
  EXPECT_EQ(info.architecture().model_type(), goldens.at("family").get<std::string>());
  EXPECT_EQ(info.architecture().max_position_embeddings(), max_tokens);
  EXPECT_EQ(info.default_pooling(), goldens.at("pooling") == "cls" ? v1::POOLING_CLS : v1::POOLING_MEAN);
  EXPECT_EQ(info.default_normalize(), goldens.at("normalize").get<bool>());

  // Every case in one request, over-long texts truncated to the model's limit.
  v1::EncodeRequest request;
  for (const json& c : goldens.at("cases")) request.add_inputs()->mutable_text()->set_text(c.at("text"));
  request.mutable_options()->set_return_token_vectors(true);
  request.mutable_options()->mutable_attention()->add_layers(0);
  request.mutable_options()->mutable_attention()->add_layers(1);
  request.mutable_options()->set_truncation(v1::TRUNCATION_TRUNCATE);
  v1::EncodeResponse response;
  grpc::Status status = stub->Encode(context().get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.outputs_size(), static_cast<int>(goldens.at("cases").size()));
  double hidden = 0, attention = 0, embedding = 0;
  for (int i = 0; i < response.outputs_size(); ++i) {
    const json& c = goldens.at("cases")[i];
    SCOPED_TRACE(c.at("name").get<std::string>());
    const v1::Output& out = response.outputs(i);
    EXPECT_EQ(std::vector<int>(out.ids().begin(), out.ids().end()),
              c.at("input_ids").get<std::vector<int>>());
    EXPECT_EQ(out.truncated(), c.at("truncated").get<bool>());
    hidden = std::max(hidden, MaxDiff(out.token_vectors(), Flatten(c.at("last_hidden_state"))));
    ASSERT_EQ(out.attention_size(), 2);
    for (int l = 0; l < 2; ++l) {
      attention = std::max(attention, MaxDiff(out.attention(l).probs(), Flatten(c.at("attentions")[l])));
    }
    embedding = std::max(embedding, MaxDiff(out.pooled(), c.at("embedding").get<std::vector<double>>()));
  }
  EXPECT_LT(hidden, 1e-5) << "last hidden state";
  EXPECT_LT(attention, 1e-6) << "attention probabilities";
  EXPECT_LT(embedding, 1e-5) << "sentence embedding";
  std::cout << family << " via qkv-server: max abs diff vs float64: hidden " << hidden << ", attention "
            << attention << ", embedding " << embedding << "\n";

  // Without truncation the over-long text is refused, naming the limit.
  request.mutable_options()->clear_truncation();
  status = stub->Encode(context().get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr(absl::StrCat(max_tokens)));
  if (max_tokens < goldens.at("position_limit").get<int>()) {  // sentence_bert_config.json's, and says so
    EXPECT_THAT(status.error_message(), HasSubstr("max_seq_length in sentence_bert_config.json"));
  }
  // Token ids are held to the same limit.
  v1::EncodeRequest ids_request;
  v1::TokenIds* over_long = ids_request.add_inputs()->mutable_ids();
  for (int id : goldens.at("cases").back().at("input_ids").get<std::vector<int>>()) over_long->add_ids(id);
  over_long->add_ids(over_long->ids(1));  // max_tokens + 1 ids
  status = stub->Encode(context().get(), ids_request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(),
              HasSubstr(absl::StrCat(max_tokens + 1, " tokens > max length ", max_tokens)));
  // max_length above the capped limit is refused too.
  request.mutable_options()->set_max_length(max_tokens + 1);
  status = stub->Encode(context().get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("max_length"));

  // The CLI: the first case's embedding, as JSON.
  const json& first = goldens.at("cases")[0];
  testing_util::ProcessResult cli =
      testing_util::RunProcess({testing_util::QkvBinary(), "encode", "--target", (*server)->target(),
                                "--format", "json", first.at("text").get<std::string>()});
  ASSERT_EQ(cli.exit_code, 0) << cli.err;
  const json printed = json::parse(cli.out);
  const std::vector<double> pooled = printed.at("outputs")[0].at("pooled").get<std::vector<double>>();
  const std::vector<double> want = first.at("embedding").get<std::vector<double>>();
  ASSERT_EQ(pooled.size(), want.size());
  double cli_diff = 0;
  for (size_t j = 0; j < want.size(); ++j) cli_diff = std::max(cli_diff, std::abs(pooled[j] - want[j]));
  EXPECT_LT(cli_diff, 1e-5) << cli.out;
}

INSTANTIATE_TEST_SUITE_P(Families, HubModelsBinaryTest,
                         ::testing::Values("xlm-roberta", "mpnet", "distilbert", "roberta", "bert-xlmr"),
                         [](const ::testing::TestParamInfo<const char*>& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

}  // namespace
}  // namespace qkv
