// Learning curves of runs as PNGs (`danlu plot`, and `danlu compare`'s
// overlays): loss.png, accuracy.png, lr.png and grad_norms.png in `out`
// (the first run directory when empty), one curve per run when several are
// overlaid.
#pragma once

#include <string>
#include <vector>

namespace danlu::cli {

void plot_runs(const std::vector<std::string>& dirs, std::string out);

}  // namespace danlu::cli
