// Registration of the `danlu` subcommands, one function per command file.
#pragma once

#include <CLI/CLI.hpp>

#include <charconv>
#include <cstdint>
#include <string>
#include <vector>

namespace danlu::cli {

// `--set key.path=value`, repeatable, for the commands that read a training config.
inline void add_set_option(CLI::App& cmd, std::vector<std::string>& overrides) {
  cmd.add_option("--set", overrides, "override a config value: key.path=value (repeatable)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
}

// For integer options: the text must be a whole number that int64 holds.
// CLI11 reads integers with strtoll, which saturates, so that
// 99999999999999999999 would otherwise arrive as 9223372036854775807.
inline const CLI::Validator kInt64(
    [](std::string& text) -> std::string {
      int64_t value = 0;
      const char* end = text.data() + text.size();
      const auto [ptr, ec] = std::from_chars(text.data(), end, value);
      if (ec == std::errc::result_out_of_range) return "beyond the int64 range: " + text;
      if (ec != std::errc() || ptr != end) return "expected an integer, got " + text;
      return "";
    },
    "INT64");

void add_devices_command(CLI::App& app);
void add_schedule_command(CLI::App& app);
void add_train_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_lr_find_command(CLI::App& app);
void add_batch_find_command(CLI::App& app);
void add_plot_command(CLI::App& app);
void add_profile_command(CLI::App& app);
void add_diagnose_command(CLI::App& app);
void add_compare_command(CLI::App& app);
void add_sweep_command(CLI::App& app);
void add_init_lab_command(CLI::App& app);

}  // namespace danlu::cli
