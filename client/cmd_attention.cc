// qkv attention TEXT: the attention probabilities of one layer as a heatmap grid (one panel per head),
// written as SVG (--svg FILE) or drawn in the terminal (256 colours on a TTY, Unicode shades otherwise /
// NO_COLOR).
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/cli.h"
#include "client/encode_output.h"
#include "client/heatmap.h"
#include "client/text_util.h"
#include "common/status_macros.h"

namespace qkv {

int RunAttentionCommand(const std::vector<std::string>& args, CliEnv& env) {
  Subcommand cmd(
      "attention", "qkv attention TEXT [--layer L] [--heads H,H,...] [--svg FILE] [flags]",
      "Draws the attention probabilities of one layer for TEXT (or --ids): one panel per head, query\n"
      "tokens down the rows, key tokens across the columns, a colour legend. --svg writes an SVG file;\n"
      "otherwise the heatmap is printed (256 colours on a terminal, Unicode shades when piped or when\n"
      "NO_COLOR is set).",
      env);
  int64_t layer = -1;
  std::vector<int64_t> heads;
  std::vector<int64_t> ids;
  std::string svg_path;
  std::string pair;
  std::string color = "auto";
  int64_t columns = 0;
  FlagSet& flags = cmd.flags();
  flags.AddInt("layer", &layer, "layer, 0-based; negative counts from the last (-1 = last)");
  flags.AddIntList("heads", &heads, "heads to draw, in order (default: all)");
  flags.AddIntList("ids", &ids, "token ids instead of TEXT");
  flags.AddString("pair", &pair, "second segment (token type 1)", "TEXT");
  flags.AddString("svg", &svg_path, "write the heatmap grid as SVG to FILE", "FILE");
  flags.AddInt("columns", &columns, "SVG: panels per row (0 = up to 4)");
  flags.AddChoice("color", &color, {"auto", "always", "never"},
                  "terminal colours (auto: on a TTY without NO_COLOR)");
  return cmd.Run(args, [&](const std::vector<std::string>& positional) -> absl::Status {
    const bool has_ids = flags.IsSet("ids");
    if (has_ids == (positional.size() == 1) || positional.size() > 1) {
      return UsageError("give exactly one TEXT argument or --ids");
    }
    if (has_ids && ids.empty()) return UsageError("--ids is empty");
    if (columns < 0) return UsageError("--columns must be >= 0");
    if ((!has_ids && !IsValidUtf8(positional[0])) || !IsValidUtf8(pair)) {
      return LocalError("text is not valid UTF-8");
    }
    QKV_ASSIGN_OR_RETURN(std::unique_ptr<EncoderClient> client, cmd.Connect());

    v1::EncodeRequest request;
    v1::Input* input = request.add_inputs();
    input->set_id("0");
    if (has_ids) {
      for (int64_t id : ids) input->mutable_ids()->add_ids(static_cast<int32_t>(id));
    } else {
      input->mutable_text()->set_text(positional[0]);
      if (flags.IsSet("pair")) input->mutable_text()->set_text_pair(pair);
    }
    v1::EncodeOptions* options = request.mutable_options();
    options->set_pooling(v1::POOLING_NONE);
    options->mutable_attention()->add_layers(static_cast<int32_t>(layer));
    for (int64_t h : heads) options->mutable_attention()->add_heads(static_cast<int32_t>(h));

    v1::EncodeResponse response;
    QKV_RETURN_IF_ERROR(client->Encode(request, &response));
    auto malformed = [](absl::string_view why) {
      return absl::InternalError(absl::StrCat("malformed response: ", why));
    };
    if (response.outputs_size() != 1) return malformed("expected one output");
    const v1::Output& output = response.outputs(0);
    if (absl::Status s = ValidateOutput(output); !s.ok()) return malformed(s.message());
    if (output.attention_size() != 1) return malformed("expected the attention of one layer");
    const v1::LayerAttention& attention = output.attention(0);

    AttentionHeatmap heatmap;
    heatmap.title = absl::StrCat(response.model(), ", layer ", attention.layer());
    for (int i = 0; i < output.ids_size(); ++i) {
      heatmap.tokens.push_back(i < output.tokens_size() ? output.tokens(i) : absl::StrCat(output.ids(i)));
    }
    heatmap.heads.assign(attention.heads().begin(), attention.heads().end());
    heatmap.probs.assign(attention.probs().values().begin(), attention.probs().values().end());
    if (absl::Status s = ValidateHeatmap(heatmap); !s.ok()) return malformed(s.message());

    if (!svg_path.empty()) {
      SvgOptions svg_options;
      svg_options.columns = static_cast<int>(columns);
      const std::string svg = RenderHeatmapSvg(heatmap, svg_options);
      std::ofstream out(svg_path, std::ios::binary | std::ios::trunc);
      if (!out) return LocalError(absl::StrCat("cannot write ", svg_path));
      out << svg;
      out.close();
      if (!out) return LocalError(absl::StrCat("error writing ", svg_path));
      *env.out << "wrote " << svg_path << ": layer " << attention.layer() << ", " << heatmap.heads.size()
               << " heads x " << heatmap.tokens.size() << " tokens\n";
      return absl::OkStatus();
    }
    const bool use_color = color == "always" || (color == "auto" && env.stdout_is_tty && !env.no_color);
    *env.out << RenderHeatmapTerminal(heatmap, use_color ? TerminalStyle::kColor256 : TerminalStyle::kShades);
    return absl::OkStatus();
  });
}

}  // namespace qkv
