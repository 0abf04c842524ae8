// Registration of the `danlu` subcommands, one function per command file.
#pragma once

#include <CLI/CLI.hpp>

namespace danlu::cli {

void add_devices_command(CLI::App& app);
void add_schedule_command(CLI::App& app);

}  // namespace danlu::cli
