// Heatmap rendering: the SVG parses as XML (/usr/bin/python3 xml.etree) with P panels of T*T cells and
// 2*T token labels each; the terminal rendering has the labels and one cell per (query, key).
#include "client/heatmap.h"

#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/client/process_util.h"

namespace qkv {
namespace {

using ::testing::HasSubstr;
using testing_util::FileExists;
using testing_util::RunProcess;

// P panels over T tokens; panel p attends from query q mostly to key (q + p) % T.
AttentionHeatmap MakeHeatmap(const std::vector<std::string>& tokens, const std::vector<int>& heads) {
  AttentionHeatmap h;
  h.title = "test model, layer 1";
  h.tokens = tokens;
  h.heads = heads;
  const size_t t = tokens.size();
  h.probs.assign(heads.size() * t * t, 0.0f);
  for (size_t p = 0; p < heads.size(); ++p) {
    for (size_t q = 0; q < t; ++q) {
      for (size_t k = 0; k < t; ++k) h.probs[(p * t + q) * t + k] = 0.2f / t;
      h.probs[(p * t + q) * t + (q + p) % t] += 0.8f;
    }
  }
  return h;
}

// Parses `svg_path` with Python's xml.etree and returns per-panel counts as JSON:
// [{"head": h, "cells": n, "qlabels": [...], "klabels": [...]}, ...] plus the legend presence.
nlohmann::json InspectSvg(const std::string& svg_path) {
  const std::string script = R"PY(
import json, sys
import xml.etree.ElementTree as ET
ns = '{http://www.w3.org/2000/svg}'
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == ns + 'svg', root.tag
panels = []
for g in root.iter(ns + 'g'):
    if g.get('class') != 'panel':
        continue
    cells = [r for r in g.iter(ns + 'rect') if r.get('class') == 'cell']
    panels.append({
        'head': int(g.get('data-head')),
        'cells': len(cells),
        'fills': sorted(set(r.get('fill') for r in cells)),
        'qlabels': [t.text for t in g.iter(ns + 'text') if t.get('class') == 'qlabel'],
        'klabels': [t.text for t in g.iter(ns + 'text') if t.get('class') == 'klabel'],
    })
legend = [g for g in root.iter(ns + 'g') if g.get('class') == 'legend']
print(json.dumps({'panels': panels, 'legend': len(legend)}))
)PY";
  testing_util::ProcessResult r = RunProcess({"/usr/bin/python3", "-c", script, svg_path});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return nlohmann::json::parse(r.out, nullptr, /*allow_exceptions=*/false);
}

TEST(HeatmapTest, ValidateRejectsBadShapes) {
  AttentionHeatmap h = MakeHeatmap({"a", "b"}, {0});
  EXPECT_TRUE(ValidateHeatmap(h).ok());
  h.probs.pop_back();
  EXPECT_FALSE(ValidateHeatmap(h).ok());
  EXPECT_FALSE(ValidateHeatmap(AttentionHeatmap{}).ok());
  AttentionHeatmap nan = MakeHeatmap({"a"}, {0});
  nan.probs[0] = std::nanf("");
  EXPECT_FALSE(ValidateHeatmap(nan).ok());
}

TEST(HeatmapTest, ViridisEndpointsAndXterm) {
  const Rgb lo = Viridis(0), hi = Viridis(1);
  EXPECT_EQ(lo.r, 68);
  EXPECT_EQ(lo.b, 84);
  EXPECT_EQ(hi.r, 253);
  EXPECT_EQ(hi.g, 231);
  EXPECT_EQ(Viridis(-1).r, lo.r);
  EXPECT_EQ(Viridis(2).g, hi.g);
  EXPECT_EQ(NearestXterm256({0, 0, 0}), 16);
  EXPECT_EQ(NearestXterm256({255, 255, 255}), 231);
  EXPECT_EQ(NearestXterm256({128, 128, 128}), 244);  // grey ramp beats the cube here
  for (int i = 0; i <= 10; ++i) {
    const int x = NearestXterm256(Viridis(i / 10.0));
    EXPECT_GE(x, 16);
    EXPECT_LE(x, 255);
  }
}

TEST(HeatmapTest, SvgParsesWithCellsAndLabelsPerPanel) {
  if (!FileExists("/usr/bin/python3")) GTEST_SKIP() << "/usr/bin/python3 not installed";
  // Tokens that need escaping, a CJK token and a control character from a hostile server.
  const std::vector<std::string> tokens = {"[CLS]", "<b>", "a&b", "\"q\"", "\u4E2D", "bad\x1b[0m", "[SEP]"};
  const std::vector<int> heads = {0, 2, 5};
  const AttentionHeatmap h = MakeHeatmap(tokens, heads);
  const std::string path = ::testing::TempDir() + "/heatmap_test.svg";
  {
    std::ofstream out(path);
    out << RenderHeatmapSvg(h);
  }
  const nlohmann::json info = InspectSvg(path);
  ASSERT_TRUE(info.is_object());
  EXPECT_EQ(info["legend"], 1);
  ASSERT_EQ(info["panels"].size(), heads.size());
  const size_t t = tokens.size();
  for (size_t p = 0; p < heads.size(); ++p) {
    const nlohmann::json& panel = info["panels"][p];
    EXPECT_EQ(panel["head"], heads[p]);
    EXPECT_EQ(panel["cells"], t * t);
    ASSERT_EQ(panel["qlabels"].size(), t);
    ASSERT_EQ(panel["klabels"].size(), t);
    EXPECT_EQ(panel["qlabels"][1], "<b>");
    EXPECT_EQ(panel["klabels"][2], "a&b");
    EXPECT_EQ(panel["qlabels"][4], "\u4E2D");
    EXPECT_EQ(panel["qlabels"][5].get<std::string>().find('\x1b'), std::string::npos);
    EXPECT_GE(panel["fills"].size(), 2u);  // strong and weak attention get different colours
  }
}

TEST(HeatmapTest, SvgCellColoursFollowTheValues) {
  AttentionHeatmap h = MakeHeatmap({"x", "y"}, {0});
  const std::string svg = RenderHeatmapSvg(h);
  // The strongest cells are drawn with the top colour of the scale, the weakest near the bottom.
  const Rgb top = Viridis(1.0);
  char hex[8];
  snprintf(hex, sizeof(hex), "#%02x%02x%02x", top.r, top.g, top.b);
  EXPECT_THAT(svg, HasSubstr(std::string("fill=\"") + hex + "\""));
  EXPECT_THAT(svg, HasSubstr("0.90"));  // legend maximum: 0.8 + 0.2/2
}

TEST(HeatmapTest, TerminalShadesHaveLabelsAndCells) {
  const std::vector<std::string> tokens = {"[CLS]", "hello", "world", "[SEP]"};
  const AttentionHeatmap h = MakeHeatmap(tokens, {0, 1});
  const std::string text = RenderHeatmapTerminal(h, TerminalStyle::kShades);
  EXPECT_EQ(text.find('\x1b'), std::string::npos);
  EXPECT_THAT(text, HasSubstr("head 0"));
  EXPECT_THAT(text, HasSubstr("head 1"));
  EXPECT_THAT(text, HasSubstr("scale 0.00"));
  // One grid row per query token per head, starting with the right-aligned label.
  int rows = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    for (const std::string& t : tokens) {
      if (absl::StartsWith(absl::StripLeadingAsciiWhitespace(line), t + " ")) {
        ++rows;
        // The label plus T cells of two columns each ("██" is 2 x 3 bytes).
        EXPECT_THAT(std::string(line), HasSubstr("\u2588\u2588")) << line;
      }
    }
  }
  EXPECT_EQ(rows, 2 * 4);
  // The key labels run vertically: the first letters of hello/world sit on one line.
  EXPECT_THAT(text, HasSubstr("[ h w ["));
}

TEST(HeatmapTest, TerminalColourUsesOneEscapePerCell) {
  const AttentionHeatmap h = MakeHeatmap({"a", "b", "c"}, {0, 1, 2});
  const std::string text = RenderHeatmapTerminal(h, TerminalStyle::kColor256);
  size_t count = 0;
  for (size_t pos = 0; (pos = text.find("\x1b[48;5;", pos)) != std::string::npos; ++pos) ++count;
  EXPECT_EQ(count, 3u * 3 * 3 + 10);  // cells + the 10-step legend
  EXPECT_THAT(text, HasSubstr("\x1b[0m"));
}

}  // namespace
}  // namespace qkv
