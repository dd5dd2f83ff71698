// SpecialsTemplate: where the special tokens go around one text or a text pair and which type id each token
// gets, as tokenizer.json's post_processor states it (BertProcessing, RobertaProcessing, TemplateProcessing).
//
// Thread safety: immutable after construction; safe to share.
#ifndef QKV_CORE_POST_PROCESSOR_H_
#define QKV_CORE_POST_PROCESSOR_H_

#include <cstdint>
#include <string>
#include <vector>

namespace qkv {

// One slot of a template: a special token, or the pieces of text 0 (the first) or 1 (the pair's second).
struct TemplateItem {
  int32_t special_id = -1;  // >= 0: this special token; -1: the pieces of `sequence`
  int sequence = 0;         // for a special token: the text whose part of the encoding it is in
  int32_t type_id = 0;
};

struct SpecialsTemplate {
  // [CLS] A [SEP] and [CLS] A [SEP] B [SEP], types 0 then 1 from B on (BERT).
  static SpecialsTemplate Bert(int32_t cls, int32_t sep);
  // <s> A </s> and <s> A </s> </s> B </s>, every type id 0 (RoBERTa).
  static SpecialsTemplate Roberta(int32_t cls, int32_t sep);

  // Special tokens in the encoding of one text (`pair` false) or of a pair.
  int NumSpecials(bool pair) const;

  std::vector<TemplateItem> single;  // holds exactly one sequence-0 slot
  std::vector<TemplateItem> pair;    // holds exactly one sequence-0 and one sequence-1 slot
  // How errors name the specials of one text and of a pair, e.g. "[CLS] and [SEP]", "[CLS] and two
  // [SEP]" (the factories assume BERT's / RoBERTa's token names; tokenizer.json readers set the real ones).
  std::string single_description;
  std::string pair_description;
};

}  // namespace qkv

#endif  // QKV_CORE_POST_PROCESSOR_H_
