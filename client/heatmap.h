// Attention heatmaps: one panel per head, queries down the rows and keys across the columns, token labels on
// both axes and a colour legend. Rendered as a standalone SVG document or as text for a terminal (256-colour
// backgrounds, or Unicode shades when colour is off). Pure functions over plain structs; thread-safe.
//
// SVG structure (stable, tests and scripts rely on it): every panel is <g class="panel" data-head="h">
// holding T*T <rect class="cell"> (row-major: query, then key), T <text class="qlabel"> and T
// <text class="klabel">; the legend is <g class="legend">.
#ifndef QKV_CLIENT_HEATMAP_H_
#define QKV_CLIENT_HEATMAP_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace qkv {

struct AttentionHeatmap {
  std::string title;                // e.g. "bert-tiny-random, layer 1"
  std::vector<std::string> tokens;  // [T] labels for both axes
  std::vector<int> heads;           // [P] head numbers, one panel each, in panel order
  std::vector<float> probs;         // [P, T, T] (panel, query, key), values in [0, 1]
};

// OK when T >= 1, P >= 1 and probs.size() == P*T*T with finite values.
absl::Status ValidateHeatmap(const AttentionHeatmap& heatmap);

struct Rgb {
  uint8_t r = 0, g = 0, b = 0;
};
// The viridis colour map at t in [0, 1] (clamped): dark purple at 0, yellow at 1.
Rgb Viridis(double t);
// The nearest xterm 256-colour palette index (6x6x6 cube or grey ramp) to `c`.
int NearestXterm256(Rgb c);

// The colour scale runs from 0 to the largest value in the heatmap (so diffuse attention stays visible);
// the legend prints that maximum.
float ScaleMax(const AttentionHeatmap& heatmap);

struct SvgOptions {
  int columns = 0;  // panels per row; 0 = min(P, 4)
  int cell_px = 0;  // cell edge in pixels; 0 = chosen from T (18 for short sequences, >= 3 for long ones)
};
// REQUIRES: ValidateHeatmap(heatmap).ok().
std::string RenderHeatmapSvg(const AttentionHeatmap& heatmap, const SvgOptions& options = {});

enum class TerminalStyle {
  kColor256,  // background colours from the 256-colour palette
  kShades,    // " ░▒▓█", for pipes and NO_COLOR
};
// Two columns per cell; key labels are written vertically above the grid, query labels left of it.
// REQUIRES: ValidateHeatmap(heatmap).ok().
std::string RenderHeatmapTerminal(const AttentionHeatmap& heatmap, TerminalStyle style);

}  // namespace qkv

#endif  // QKV_CLIENT_HEATMAP_H_
