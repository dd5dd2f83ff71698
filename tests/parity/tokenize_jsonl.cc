// qkv_tokenize_jsonl: tokenizes JSON lines with qkv's Tokenizer, for the tokenizer parity test.
//
// Usage: qkv_tokenize_jsonl MODEL_DIR < corpus.jsonl > out.jsonl
// Each input line is {"text": "...", "pair": "..."} ("pair" optional: then EncodePair). Each output line is
// {"ids": [...], "offsets": [[begin, end], ...], "type_ids": [...], "special": [0 or 1, ...]} (byte offsets
// into the text the token came from; {0, 0} for specials) or {"error": "..."} when qkv rejects the text.
// Exit code 1 on a bad line or a bad model.
#include <iostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/tokenizer.h"
#include "nlohmann/json.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: qkv_tokenize_jsonl MODEL_DIR < corpus.jsonl\n";
    return 1;
  }
  const absl::StatusOr<qkv::Tokenizer> tokenizer = qkv::Tokenizer::FromModelDirectory(argv[1]);
  if (!tokenizer.ok()) {
    std::cerr << tokenizer.status() << "\n";
    return 1;
  }
  std::string line;
  for (int line_number = 1; std::getline(std::cin, line); ++line_number) {
    nlohmann::json input;
    try {
      input = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      std::cerr << "line " << line_number << ": " << e.what() << "\n";
      return 1;
    }
    const auto text = input.find("text");
    const auto pair = input.find("pair");
    if (text == input.end() || !text->is_string() || (pair != input.end() && !pair->is_string())) {
      std::cerr << "line " << line_number << ": needs a string \"text\" (and optionally \"pair\")\n";
      return 1;
    }
    const absl::StatusOr<qkv::Encoding> encoding =
        pair == input.end() ? tokenizer->Encode(text->get<std::string>())
                            : tokenizer->EncodePair(text->get<std::string>(), pair->get<std::string>());
    nlohmann::json output;
    if (encoding.ok()) {
      output["ids"] = encoding->ids;
      output["offsets"] = encoding->offsets;
      output["type_ids"] = encoding->type_ids;
      std::vector<int> special(encoding->special.begin(), encoding->special.end());
      output["special"] = special;
    } else {
      output["error"] = encoding.status().ToString();
    }
    std::cout << output.dump() << "\n";
  }
  return 0;
}
