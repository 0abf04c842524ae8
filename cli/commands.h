// Registration of the `danlu` subcommands, one function per command file.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace danlu::cli {

// `--set key.path=value`, repeatable, for the commands that read a training config.
inline void add_set_option(CLI::App& cmd, std::vector<std::string>& overrides) {
  cmd.add_option("--set", overrides, "override a config value: key.path=value (repeatable)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
}

void add_devices_command(CLI::App& app);
void add_schedule_command(CLI::App& app);
void add_train_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_lr_find_command(CLI::App& app);
void add_plot_command(CLI::App& app);
void add_profile_command(CLI::App& app);

}  // namespace danlu::cli
