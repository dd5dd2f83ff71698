// A model whose embedding table is larger than its vocabulary (config.json's vocab_size padded past
// vocab.txt, as many Hub models are): served over gRPC, an id between the two sizes runs and comes back with
// the "[ID:<id>]" placeholder token instead of a read past the token table.
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "qkv/v1/encoder.grpc.pb.h"
#include "server/served_model.h"
#include "server_test_util.h"

namespace qkv {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using namespace testing_util;  // NOLINT(build/namespaces): test helpers

// The bundled model with its vocab.txt cut to the first `tokens` lines (config.json keeps vocab_size 30522).
std::string ShortVocabModelDir(int tokens) {
  const fs::path dir = fs::path(::testing::TempDir()) / absl::StrCat("qkv_short_vocab_", getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (const char* file : {"config.json", "tokenizer_config.json", "model.safetensors"}) {
    fs::create_symlink(fs::path(kModelDir) / file, dir / file);
  }
  std::ifstream in(fs::path(kModelDir) / "vocab.txt");
  std::ofstream out(dir / "vocab.txt");
  std::string line;
  for (int i = 0; i < tokens && std::getline(in, line); ++i) out << line << "\n";
  return dir.string();
}

TEST(ShortVocabularyTest, IdsPastTheVocabularyRunAndReportThePlaceholder) {
  absl::StatusOr<std::unique_ptr<ServedModel>> model = LoadServedModel(ShortVocabModelDir(1000), 8192);
  ASSERT_TRUE(model.ok()) << model.status();
  ASSERT_EQ((*model)->tokenizer.vocab_size(), 1000);
  ASSERT_EQ((*model)->config.vocab_size, 30522);
  TestServer server = StartServing(TestConfig(), *std::move(model));

  v1::EncodeRequest request = IdsRequest({{101, 999, 1000, 30521, 102}});
  request.mutable_options()->set_return_token_vectors(true);
  v1::EncodeResponse response;
  grpc::Status status = server.stub->Encode(Context().get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.outputs_size(), 1);
  const v1::Output& output = response.outputs(0);
  EXPECT_THAT(output.tokens(), ElementsAre("[CLS]", "!", "[ID:1000]", "[ID:30521]", "[SEP]"));
  EXPECT_THAT(output.token_vectors().shape(), ElementsAre(5, 128));

  // Past the embedding table: still INVALID_ARGUMENT naming the id.
  status = server.stub->Encode(Context().get(), IdsRequest({{101, 30522, 102}}), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("id 30522 out of range [0, 30522)"));
}

}  // namespace
}  // namespace qkv
