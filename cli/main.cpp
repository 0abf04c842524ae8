// The `danlu` command: one subcommand per job (devices, train, ...).
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/commands.h"
#include "engine/error.h"

int main(int argc, char** argv) {
  CLI::App app{"danlu: a deep-learning training engine (C++20 and CUDA)", "danlu"};
  app.set_version_flag("--version", std::string("danlu ") + DANLU_VERSION);
  app.require_subcommand(1);
  danlu::cli::add_train_command(app);
  danlu::cli::add_eval_command(app);
  danlu::cli::add_lr_find_command(app);
  danlu::cli::add_plot_command(app);
  danlu::cli::add_schedule_command(app);
  danlu::cli::add_profile_command(app);
  danlu::cli::add_devices_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const danlu::Error& e) {
    std::cerr << "danlu: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
