#include "client/heatmap.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/text_util.h"

namespace qkv {
namespace {

// Viridis sampled at t = 0, 1/8, ..., 1 (matplotlib's table); linear interpolation in between.
constexpr std::array<Rgb, 9> kViridis = {{{68, 1, 84},
                                          {72, 40, 120},
                                          {62, 73, 137},
                                          {49, 104, 142},
                                          {38, 130, 142},
                                          {31, 158, 137},
                                          {53, 183, 121},
                                          {110, 206, 88},
                                          {253, 231, 37}}};

constexpr int kLabelMaxWidth = 14;     // columns / characters kept of a token label
constexpr int kVerticalLabelRows = 8;  // rows of vertical key labels in the terminal

std::string Hex(Rgb c) { return absl::StrFormat("#%02x%02x%02x", c.r, c.g, c.b); }

float At(const AttentionHeatmap& h, size_t panel, size_t q, size_t k) {
  const size_t t = h.tokens.size();
  return h.probs[(panel * t + q) * t + k];
}

std::vector<std::string> Labels(const AttentionHeatmap& h) {
  std::vector<std::string> labels;
  labels.reserve(h.tokens.size());
  for (const std::string& token : h.tokens) {
    labels.push_back(TruncateToWidth(SanitizeForDisplay(token), kLabelMaxWidth));
  }
  return labels;
}

std::string FormatValue(float v) { return absl::StrFormat("%.2f", v); }

}  // namespace

absl::Status ValidateHeatmap(const AttentionHeatmap& heatmap) {
  const size_t t = heatmap.tokens.size();
  const size_t p = heatmap.heads.size();
  if (t == 0) return absl::InvalidArgumentError("heatmap has no tokens");
  if (p == 0) return absl::InvalidArgumentError("heatmap has no heads");
  if (heatmap.probs.size() != p * t * t) {
    return absl::InvalidArgumentError(absl::StrCat("heatmap holds ", heatmap.probs.size(), " values; ", p,
                                                   " heads x ", t, " x ", t, " tokens need ", p * t * t));
  }
  for (float v : heatmap.probs) {
    if (!std::isfinite(v)) return absl::InvalidArgumentError("heatmap holds a non-finite value");
  }
  return absl::OkStatus();
}

Rgb Viridis(double t) {
  if (!(t > 0)) t = 0;  // also maps NaN to 0
  if (t > 1) t = 1;
  const double x = t * (kViridis.size() - 1);
  const size_t i = std::min(static_cast<size_t>(x), kViridis.size() - 2);
  const double f = x - i;
  auto mix = [f](uint8_t a, uint8_t b) { return static_cast<uint8_t>(std::lround(a + (b - a) * f)); };
  return {mix(kViridis[i].r, kViridis[i + 1].r), mix(kViridis[i].g, kViridis[i + 1].g),
          mix(kViridis[i].b, kViridis[i + 1].b)};
}

int NearestXterm256(Rgb c) {
  static constexpr std::array<int, 6> kLevels = {0, 95, 135, 175, 215, 255};
  auto nearest_level = [](int v) {
    int best = 0;
    for (int i = 1; i < 6; ++i) {
      if (std::abs(kLevels[i] - v) < std::abs(kLevels[best] - v)) best = i;
    }
    return best;
  };
  auto dist = [&c](int r, int g, int b) {
    return (r - c.r) * (r - c.r) + (g - c.g) * (g - c.g) + (b - c.b) * (b - c.b);
  };
  const int ri = nearest_level(c.r), gi = nearest_level(c.g), bi = nearest_level(c.b);
  const int cube_index = 16 + 36 * ri + 6 * gi + bi;
  const int cube_dist = dist(kLevels[ri], kLevels[gi], kLevels[bi]);
  // Grey ramp 232..255: 8, 18, ..., 238.
  const int mean = (c.r + c.g + c.b) / 3;
  const int gi_ramp = std::clamp((mean - 8 + 5) / 10, 0, 23);
  const int grey = 8 + 10 * gi_ramp;
  return dist(grey, grey, grey) < cube_dist ? 232 + gi_ramp : cube_index;
}

float ScaleMax(const AttentionHeatmap& heatmap) {
  float m = 0;
  for (float v : heatmap.probs) m = std::max(m, v);
  return m > 0 ? m : 1.0f;
}

std::string RenderHeatmapSvg(const AttentionHeatmap& heatmap, const SvgOptions& options) {
  const int t = static_cast<int>(heatmap.tokens.size());
  const int panels = static_cast<int>(heatmap.heads.size());
  const int columns = options.columns > 0 ? options.columns : std::min(panels, 4);
  const int rows = (panels + columns - 1) / columns;
  const int cell = options.cell_px > 0 ? options.cell_px : std::clamp(480 / t, 3, 18);
  const double font = std::clamp(cell * 0.75, 5.0, 11.0);
  const float vmax = ScaleMax(heatmap);
  const std::vector<std::string> labels = Labels(heatmap);
  int label_chars = 1;
  for (const std::string& l : labels) label_chars = std::max(label_chars, DisplayWidth(l));
  const int label_px = static_cast<int>(std::ceil(label_chars * font * 0.62)) + 6;

  const int grid = cell * t;
  const int title_h = 18;
  const int panel_w = label_px + grid + 16;
  const int panel_h = title_h + grid + label_px + 12;
  const int margin = 12;
  const int header_h = 36;
  const int legend_w = 70;
  const int width = margin * 2 + columns * panel_w + legend_w;
  const int height = margin * 2 + header_h + rows * panel_h;

  std::string svg;
  svg.reserve(static_cast<size_t>(panels) * t * t * 80 + 4096);
  absl::StrAppendFormat(&svg,
                        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                        "viewBox=\"0 0 %d %d\" font-family=\"DejaVu Sans Mono, Menlo, monospace\">\n",
                        width, height, width, height);
  const std::string title = XmlEscape(SanitizeForDisplay(heatmap.title));
  absl::StrAppend(&svg, "<title>", title, "</title>\n");
  absl::StrAppend(&svg, "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n");
  absl::StrAppendFormat(&svg, "<text x=\"%d\" y=\"%d\" font-size=\"15\" font-weight=\"bold\">%s</text>\n",
                        margin, margin + 15, title);
  absl::StrAppendFormat(&svg,
                        "<text x=\"%d\" y=\"%d\" font-size=\"10\" fill=\"#555555\">rows: query token, "
                        "columns: key token</text>\n",
                        margin + 2, margin + header_h - 2);

  for (int p = 0; p < panels; ++p) {
    const int px = margin + (p % columns) * panel_w;
    const int py = margin + header_h + (p / columns) * panel_h;
    absl::StrAppendFormat(&svg, "<g class=\"panel\" data-head=\"%d\" transform=\"translate(%d,%d)\">\n",
                          heatmap.heads[p], px, py);
    absl::StrAppendFormat(&svg,
                          "<text class=\"panel-title\" x=\"%d\" y=\"13\" font-size=\"12\">head %d</text>\n",
                          label_px, heatmap.heads[p]);
    const int gx = label_px;
    const int gy = title_h;
    svg += "<g shape-rendering=\"crispEdges\">\n";
    for (int q = 0; q < t; ++q) {
      for (int k = 0; k < t; ++k) {
        const float v = At(heatmap, p, q, k);
        absl::StrAppendFormat(&svg,
                              "<rect class=\"cell\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
                              "fill=\"%s\"/>\n",
                              gx + k * cell, gy + q * cell, cell, cell, Hex(Viridis(v / vmax)));
      }
    }
    svg += "</g>\n";
    for (int q = 0; q < t; ++q) {
      absl::StrAppendFormat(&svg,
                            "<text class=\"qlabel\" x=\"%d\" y=\"%.1f\" font-size=\"%.1f\" "
                            "text-anchor=\"end\" dominant-baseline=\"middle\">%s</text>\n",
                            gx - 3, gy + (q + 0.5) * cell, font, XmlEscape(labels[q]));
    }
    for (int k = 0; k < t; ++k) {
      const double x = gx + (k + 0.5) * cell;
      const int y = gy + grid + 3;
      absl::StrAppendFormat(
          &svg,
          "<text class=\"klabel\" x=\"%.1f\" y=\"%d\" font-size=\"%.1f\" text-anchor=\"end\" "
          "dominant-baseline=\"middle\" transform=\"rotate(-90 %.1f %d)\">%s</text>\n",
          x, y, font, x, y, XmlEscape(labels[k]));
    }
    svg += "</g>\n";
  }

  // Legend: a vertical gradient from vmax (top) to 0 (bottom).
  const int lx = margin + columns * panel_w + 8;
  const int ly = margin + header_h + title_h;
  const int lh = std::max(60, std::min(grid, 240));
  svg +=
      "<g class=\"legend\">\n<defs><linearGradient id=\"qkv-viridis\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">\n";
  for (int i = 0; i <= 10; ++i) {
    absl::StrAppendFormat(&svg, "<stop offset=\"%.1f\" stop-color=\"%s\"/>\n", i / 10.0,
                          Hex(Viridis(i / 10.0)));
  }
  svg += "</linearGradient></defs>\n";
  absl::StrAppendFormat(&svg,
                        "<rect x=\"%d\" y=\"%d\" width=\"14\" height=\"%d\" fill=\"url(#qkv-viridis)\" "
                        "stroke=\"#333333\" stroke-width=\"0.5\"/>\n",
                        lx, ly, lh);
  for (int i = 0; i <= 4; ++i) {
    const double frac = i / 4.0;
    const double y = ly + lh - frac * lh;
    absl::StrAppendFormat(&svg,
                          "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#333333\" "
                          "stroke-width=\"0.5\"/><text x=\"%d\" y=\"%.1f\" font-size=\"9\" "
                          "dominant-baseline=\"middle\">%s</text>\n",
                          lx + 14, y, lx + 17, y, lx + 19, y, FormatValue(static_cast<float>(frac * vmax)));
  }
  absl::StrAppendFormat(&svg, "<text x=\"%d\" y=\"%d\" font-size=\"9\">attention</text>\n", lx - 4, ly - 12);
  svg += "</g>\n</svg>\n";
  return svg;
}

std::string RenderHeatmapTerminal(const AttentionHeatmap& heatmap, TerminalStyle style) {
  static constexpr std::array<const char*, 5> kShades = {"  ", "\u2591\u2591", "\u2592\u2592", "\u2593\u2593",
                                                         "\u2588\u2588"};
  const int t = static_cast<int>(heatmap.tokens.size());
  const float vmax = ScaleMax(heatmap);
  const std::vector<std::string> labels = Labels(heatmap);
  int row_label_w = 1;
  for (const std::string& l : labels) row_label_w = std::max(row_label_w, DisplayWidth(l));

  // Key labels run vertically: one code point per row, each in its column's first cell (two columns).
  std::vector<std::vector<char32_t>> vertical(t);
  int vertical_rows = 0;
  for (int k = 0; k < t; ++k) {
    std::vector<char32_t> cps = Utf8ToCodePoints(labels[k]);
    if (cps.size() > kVerticalLabelRows) {
      cps.resize(kVerticalLabelRows);
      cps.back() = U'\u2026';
    }
    vertical_rows = std::max(vertical_rows, static_cast<int>(cps.size()));
    vertical[k] = std::move(cps);
  }

  auto cell = [&](float v) -> std::string {
    const double x = v / vmax;
    if (style == TerminalStyle::kColor256) {
      return absl::StrCat("\x1b[48;5;", NearestXterm256(Viridis(x)), "m  ");
    }
    const int level = std::clamp(static_cast<int>(x * 5), 0, 4);
    return kShades[level];
  };
  const char* reset = style == TerminalStyle::kColor256 ? "\x1b[0m" : "";

  std::string out;
  if (!heatmap.title.empty()) absl::StrAppend(&out, SanitizeForDisplay(heatmap.title), "\n");
  for (size_t p = 0; p < heatmap.heads.size(); ++p) {
    absl::StrAppend(&out, "\nhead ", heatmap.heads[p], "  (rows: query, columns: key)\n");
    for (int r = 0; r < vertical_rows; ++r) {
      std::string line(row_label_w + 1, ' ');
      for (int k = 0; k < t; ++k) {
        if (r < static_cast<int>(vertical[k].size())) {
          const char32_t cp = vertical[k][r];
          AppendUtf8(cp, &line);
          if (CodePointWidth(cp) < 2) line.append(2 - std::max(CodePointWidth(cp), 0), ' ');
        } else {
          line += "  ";
        }
      }
      while (!line.empty() && line.back() == ' ') line.pop_back();
      absl::StrAppend(&out, line, "\n");
    }
    for (int q = 0; q < t; ++q) {
      std::string line = std::string(row_label_w - DisplayWidth(labels[q]), ' ') + labels[q] + " ";
      for (int k = 0; k < t; ++k) line += cell(At(heatmap, p, q, k));
      absl::StrAppend(&out, line, reset, "\n");
    }
  }
  // Legend: ten steps from 0 to vmax.
  std::string legend = "\nscale 0.00 ";
  for (int i = 0; i < 10; ++i) legend += cell(static_cast<float>((i + 0.5) / 10.0 * vmax));
  absl::StrAppend(&legend, reset, " ", FormatValue(vmax), "\n");
  out += legend;
  return out;
}

}  // namespace qkv
