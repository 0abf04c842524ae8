// `--jobs N [--threads T]` for the commands that run trials (compare,
// sweep): how many trials train at once on the CPU, each a child process of
// this very program (train/trials.h).
#pragma once

#include <CLI/CLI.hpp>

#include <filesystem>

#include "train/trials.h"

namespace danlu::cli {

inline void add_jobs_options(CLI::App& cmd, int& jobs, int& threads) {
  cmd.add_option("--jobs", jobs,
                 "trials at once on the CPU, each a process of its own (default 1: one after another)")
      ->check(CLI::Range(1, 64));
  cmd.add_option("--threads", threads,
                 "OpenMP threads per trial with --jobs (default: the cores divided among the jobs)")
      ->check(CLI::Range(1, 1024));
}

// How trials run: `jobs` at once as child processes of this very program.
inline train::TrialJobs trial_jobs(int jobs, int threads) {
  train::TrialJobs j;
  j.jobs = jobs, j.threads = threads;
  j.program = std::filesystem::read_symlink("/proc/self/exe").string();
  return j;
}

}  // namespace danlu::cli
