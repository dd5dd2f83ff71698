#include "core/post_processor.h"

#include <algorithm>

namespace qkv {
namespace {

TemplateItem Special(int32_t id, int sequence, int32_t type_id) { return {id, sequence, type_id}; }
TemplateItem Text(int sequence, int32_t type_id) { return {-1, sequence, type_id}; }

}  // namespace

SpecialsTemplate SpecialsTemplate::Bert(int32_t cls, int32_t sep) {
  SpecialsTemplate t;
  t.single = {Special(cls, 0, 0), Text(0, 0), Special(sep, 0, 0)};
  t.pair = {Special(cls, 0, 0), Text(0, 0), Special(sep, 0, 0), Text(1, 1), Special(sep, 1, 1)};
  t.single_description = "[CLS] and [SEP]";
  t.pair_description = "[CLS] and two [SEP]";
  return t;
}

SpecialsTemplate SpecialsTemplate::Roberta(int32_t cls, int32_t sep) {
  SpecialsTemplate t;
  t.single = {Special(cls, 0, 0), Text(0, 0), Special(sep, 0, 0)};
  t.pair = {Special(cls, 0, 0), Text(0, 0), Special(sep, 0, 0),
            Special(sep, 1, 0), Text(1, 0), Special(sep, 1, 0)};
  t.single_description = "<s> and </s>";
  t.pair_description = "<s> and three </s>";
  return t;
}

int SpecialsTemplate::NumSpecials(bool is_pair) const {
  const std::vector<TemplateItem>& items = is_pair ? pair : single;
  return static_cast<int>(std::count_if(items.begin(), items.end(),
                                        [](const TemplateItem& item) { return item.special_id >= 0; }));
}

}  // namespace qkv
