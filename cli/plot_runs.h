// Learning curves of runs as pictures (`danlu plot`, and the overlays of
// `danlu compare` and `danlu sweep`): loss, accuracy, lr and grad_norms in
// `out` (the first run directory when empty), one curve per run when several
// are overlaid; for one run also the monitor's layer x step heatmaps.
// `format` is "png" or "svg".
#pragma once

#include <string>
#include <vector>

namespace danlu::cli {

void plot_runs(const std::vector<std::string>& dirs, std::string out,
               const std::string& format = "png");

}  // namespace danlu::cli
