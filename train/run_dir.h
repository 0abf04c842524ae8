// The run directory's claim: `danlu train --out DIR` checks that DIR can be
// created and written before any data loads, holds an advisory lock on
// DIR/.lock (with its pid inside) for as long as the run lasts, refuses a
// directory that already holds another run, and clears the temp files a
// killed checkpoint write left behind.
#pragma once

#include <string>

namespace danlu::train {

// What a run directory may already hold when a run starts.
enum class ExistingRun {
  refuse,     // a fresh run: a directory with a run in it is an error
  continue_,  // --resume: the run's files are continued (metrics purged past the checkpoint)
  overwrite,  // --overwrite: the old run's files are removed first
};

class RunDirectory {
 public:
  // Creates `dir` if missing, takes its lock and applies `existing`; every
  // failure is a one-line danlu::Error naming the directory and the fix.
  RunDirectory(const std::string& dir, ExistingRun existing);
  ~RunDirectory();  // releases the lock (the file stays, so no process races on its creation)
  RunDirectory(const RunDirectory&) = delete;
  RunDirectory& operator=(const RunDirectory&) = delete;

 private:
  int lock_fd_ = -1;
};

}  // namespace danlu::train
