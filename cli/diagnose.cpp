// `danlu diagnose RUN_DIR`: the verdict on a run's loss curve (train/diagnose.h)
// with its evidence and advice, and the health monitor's warnings if any.
#include <cstdio>

#include "cli/commands.h"
#include "train/diagnose.h"

namespace danlu::cli {

void add_diagnose_command(CLI::App& app) {
  auto run_dir = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand(
      "diagnose", "read a run's loss curve: diverged, too slow, plateau, overfitting or healthy");
  cmd->add_option("run_dir", *run_dir, "the run directory of danlu train (holds metrics.jsonl)")
      ->required();
  cmd->callback([run_dir] {
    const train::RunHistory run = train::read_history(*run_dir);
    std::printf("%s\n", train::to_text(train::diagnose(run)).c_str());
    if (!run.warnings.empty())
      std::printf("the health monitor warned %zu time(s); its warnings are the \"warning\" "
                  "records of %s/metrics.jsonl\n",
                  run.warnings.size(), run_dir->c_str());
  });
}

}  // namespace danlu::cli
