// The `danlu` command: one subcommand per job (devices, train, ...). Every
// failure ends as one line "danlu: error: ..." on stderr and a non-zero exit
// status (1, or CLI11's code for a malformed command line): the top level
// turns any exception into that line, so no input makes the process abort.
#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>
#include <new>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "engine/error.h"

namespace {

// Library messages may span lines (CLI11's usage hints); the report is one line.
std::string one_line(std::string message) {
  for (char& c : message)
    if (c == '\n' || c == '\r') c = ' ';
  while (!message.empty() && message.back() == ' ') message.pop_back();
  return message;
}

int fail(const std::string& message) {
  std::cerr << "danlu: error: " << one_line(message) << "\n";
  return 1;
}

// The subcommand `argv[1]` names, checked before parsing so that a typo is
// named ("danlu trian") rather than reported as a stray argument.
std::string unknown_command(CLI::App& app, int argc, char** argv) {
  if (argc < 2 || argv[1][0] == '-') return "";
  std::string names;
  for (const CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    if (sub->get_name() == argv[1]) return "";
    names += (names.empty() ? "" : ", ") + sub->get_name();
  }
  return std::string("unknown command '") + argv[1] + "'; expected one of " + names +
         " (danlu --help lists them)";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"danlu: a deep-learning training engine (C++20 and CUDA)", "danlu"};
  app.set_version_flag("--version", std::string("danlu ") + DANLU_VERSION);
  app.require_subcommand(1);
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    return "danlu: error: " + one_line(e.what()) + " (see danlu --help)\n";
  });
  danlu::cli::add_train_command(app);
  danlu::cli::add_eval_command(app);
  danlu::cli::add_lr_find_command(app);
  danlu::cli::add_batch_find_command(app);
  danlu::cli::add_plot_command(app);
  danlu::cli::add_diagnose_command(app);
  danlu::cli::add_compare_command(app);
  danlu::cli::add_sweep_command(app);
  danlu::cli::add_init_lab_command(app);
  danlu::cli::add_schedule_command(app);
  danlu::cli::add_profile_command(app);
  danlu::cli::add_devices_command(app);
  if (const std::string unknown = unknown_command(app, argc, argv); !unknown.empty())
    return fail(unknown);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const danlu::Error& e) {
    return fail(e.what());
  } catch (const std::bad_alloc&) {
    return fail("out of host memory: an allocation failed; lower batch_size or the data limits, "
                "or check the sizes the input files declare");
  } catch (const std::filesystem::filesystem_error& e) {
    return fail(e.what());
  } catch (const nlohmann::json::exception& e) {
    return fail(std::string("bad JSON value: ") + e.what());
  } catch (const std::ios_base::failure& e) {
    return fail(std::string("I/O error: ") + e.what());
  } catch (const std::exception& e) {
    return fail(e.what());
  } catch (...) {
    return fail("unexpected failure of an unknown kind");
  }
  return 0;
}
