// RunDirectory: create and lock the run directory, refuse or clear an
// earlier run, remove stale temp files.
#include "train/run_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <string>

#include "engine/error.h"

namespace danlu::train {

namespace fs = std::filesystem;

namespace {

// A run's own files, which make a directory "hold a run" and which
// --overwrite removes. The plots and profile are derived from them.
const char* const kRunFiles[] = {
    "metrics.jsonl",          "config.json",           "last.safetensors",
    "best.safetensors",       "profile.txt",           "profile.json",
    "loss.png",               "accuracy.png",          "lr.png",
    "grad_norms.png",         "layers_grad_norm.png",  "layers_update_ratio.png",
    "layers_act_std.png",     "layers_dead_fraction.png", "loss.svg",
    "accuracy.svg",           "lr.svg",                "grad_norms.svg",
    "layers_grad_norm.svg",   "layers_update_ratio.svg", "layers_act_std.svg",
    "layers_dead_fraction.svg"};
const char* const kHoldsRun[] = {"metrics.jsonl", "last.safetensors", "best.safetensors"};

bool present(const fs::path& p) {
  std::error_code ec;
  return fs::symlink_status(p, ec).type() != fs::file_type::not_found;
}

void create(const fs::path& dir) {
  std::error_code ec;
  DANLU_CHECK(!present(dir) || fs::is_directory(dir, ec), "--out ", dir.string(),
              ": exists and is not a directory; choose another path");
  fs::create_directories(dir, ec);
  DANLU_CHECK(!ec, "--out ", dir.string(), ": cannot create the run directory (", ec.message(),
              "); choose a writable path");
}

// The pid in a lock file, 0 if there is none.
long holder_of(int fd) {
  char text[32] = {};
  const ssize_t n = ::pread(fd, text, sizeof text - 1, 0);
  return n > 0 ? std::strtol(text, nullptr, 10) : 0;
}

int take_lock(const fs::path& dir) {
  const std::string path = (dir / ".lock").string();
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  DANLU_CHECK(fd >= 0, "--out ", dir.string(), ": cannot write there (", path, ": ",
              std::strerror(errno), "); choose a writable directory");
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    const long pid = holder_of(fd);
    ::close(fd);
    DANLU_CHECK(err != EWOULDBLOCK, "--out ", dir.string(), ": another danlu process (pid ", pid,
                ") is training in this directory; wait for it to end or choose another --out");
    DANLU_FAIL("--out ", dir.string(), ": cannot lock ", path, ": ", std::strerror(err));
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  const bool written = ::ftruncate(fd, 0) == 0 &&
                       ::pwrite(fd, pid.data(), pid.size(), 0) == ssize_t(pid.size());
  const int err = errno;
  if (!written) ::close(fd);
  DANLU_CHECK(written, "--out ", dir.string(), ": cannot write ", path, ": ", std::strerror(err),
              "; free some space or choose another directory");
  return fd;
}

// "<name>.tmp.<pid>" -> pid, or 0 for any other name.
long temp_file_pid(const std::string& name) {
  const size_t at = name.rfind(".tmp.");
  if (at == std::string::npos || at + 5 == name.size()) return 0;
  const std::string digits = name.substr(at + 5);
  if (digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 9) return 0;
  return std::stol(digits);
}

// Temp files of checkpoint writes whose process is gone (a live process may
// still be renaming its own, so a file is removed only if kill() finds no pid).
void remove_stale_temp_files(const fs::path& dir) {
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
    const long pid = temp_file_pid(e.path().filename().string());
    if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)
      fs::remove(e.path(), ec);
  }
}

void apply_existing(const fs::path& dir, ExistingRun existing) {
  if (existing == ExistingRun::continue_) return;
  if (existing == ExistingRun::overwrite) {
    for (const char* file : kRunFiles) {
      std::error_code ec;
      fs::remove(dir / file, ec);
      DANLU_CHECK(!ec, "--overwrite: cannot remove ", (dir / file).string(), ": ", ec.message());
    }
    return;
  }
  for (const char* file : kHoldsRun)
    DANLU_CHECK(!present(dir / file), "--out ", dir.string(), " already holds a run (",
                file, "); continue it with --resume ", (dir / "last.safetensors").string(),
                ", replace it with --overwrite, or choose another --out");
}

}  // namespace

RunDirectory::RunDirectory(const std::string& dir, ExistingRun existing) {
  create(dir);
  lock_fd_ = take_lock(dir);
  try {
    remove_stale_temp_files(dir);
    apply_existing(dir, existing);
  } catch (...) {
    ::close(lock_fd_);
    throw;
  }
}

RunDirectory::~RunDirectory() {
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

}  // namespace danlu::train
