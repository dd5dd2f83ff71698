// The architecture families (core/model_family.h) served: each fixture of tests/data/families/ loads and
// warms up as a ServedModel, GetModelInfo names its family and its real token limit, and Encode's
// preparation applies the family's token type rule to text pairs.
#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/proto_convert.h"
#include "server/served_model.h"
#include "server/server_config.h"

namespace qkv {
namespace {

using ::testing::Each;

std::string FamilyDir(const std::string& family) {
  return std::string(QKV_SOURCE_DIR) + "/tests/data/families/" + family;
}

TEST(FamilyModelInfoTest, ReportsFamilyAndTokenLimit) {
  const struct {
    const char* family;
    int max_tokens;  // max_position_embeddings, less padding_idx + 1 for RoBERTa-style positions
    int type_vocab_size;
    bool pooler;
  } cases[] = {{"distilbert", 48, 1, false},
               {"roberta", 48, 1, true},
               {"xlm-roberta", 48, 1, false},
               {"mpnet", 162, 1, true}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.family);
    absl::StatusOr<std::unique_ptr<ServedModel>> model = LoadServedModel(FamilyDir(c.family), 8192);
    ASSERT_TRUE(model.ok()) << model.status();
    ASSERT_TRUE(WarmUp(**model).ok());
    v1::GetModelInfoResponse info;
    FillModelInfo(**model, ServerConfig(), &info);
    EXPECT_EQ(info.architecture().model_type(), c.family);
    EXPECT_EQ(info.architecture().max_position_embeddings(), c.max_tokens);
    EXPECT_EQ(info.architecture().type_vocab_size(), c.type_vocab_size);
    EXPECT_EQ((*model)->has_pooler, c.pooler);

    // A text pair: the second segment's type ids are 0 for these families, as HF feeds them.
    v1::EncodeRequest request;
    v1::TextInput* text = request.add_inputs()->mutable_text();
    text->set_text("w5 w6");
    text->set_text_pair("w7");
    absl::StatusOr<PreparedEncode> prepared = PrepareEncode(request, **model, ServerConfig());
    ASSERT_TRUE(prepared.ok()) << prepared.status();
    EXPECT_THAT(prepared->sequences[0].type_ids, Each(0));
    // Tokenize returns the same type ids, so its output can be sent back to Encode as ids.
    v1::TokenizeRequest tokenize;
    tokenize.set_text("w5 w6");
    tokenize.set_text_pair("w7");
    v1::TokenizeResponse tokens;
    ASSERT_TRUE(Tokenize(tokenize, **model, &tokens).ok());
    EXPECT_THAT(tokens.token_type_ids(), Each(0));

    // max_length beyond the token limit is refused, naming the limit.
    request.mutable_options()->set_max_length(c.max_tokens + 1);
    EXPECT_FALSE(PrepareEncode(request, **model, ServerConfig()).ok());
  }
}

}  // namespace
}  // namespace qkv
