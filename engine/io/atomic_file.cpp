// replace_file: write a temp file, fsync, rename over the target, fsync the
// directory.
#include "engine/io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "engine/error.h"

namespace danlu::io {

namespace {

std::string failure_hint(int err) {
  switch (err) {
    case ENOENT: return "; does the directory exist?";
    case EACCES:
    case EPERM:
    case EROFS: return "; is the directory writable?";
    case ENOSPC:
    case EDQUOT:
    case EFBIG: return "; free some disk space or save elsewhere";
    case EISDIR: return "; the target is a directory, choose a file name";
    default: return "";
  }
}

// Throws for a failed system call on the temp file ("writing <tmp> failed:
// ..."); replace_file removes the temp file.
[[noreturn]] void save_failed(const std::string& path, const char* step, const std::string& tmp,
                              const char* rest = "") {
  const int err = errno;
  DANLU_FAIL("cannot save ", path, ": ", step, tmp, rest, " failed: ", std::strerror(err),
             failure_hint(err), " (an existing ", path, " is unchanged)");
}

// Makes the rename itself durable. Filesystems without directory fsync say EINVAL.
void fsync_directory(const std::string& path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  const std::string dir = parent.empty() ? std::string(".") : parent.string();
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const bool synced = fd >= 0 && (::fsync(fd) == 0 || errno == EINVAL);
  const int err = errno;
  if (fd >= 0) ::close(fd);
  DANLU_CHECK(synced, "saved ", path, " but could not fsync its directory ", dir, ": ",
              std::strerror(err), "; a crash now could lose the file");
}

}  // namespace

void AtomicWriter::write(const void* data, size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd_, p, std::min<size_t>(n, 1u << 30));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) save_failed(path_, "writing ", tmp_);
    p += w;
    n -= w;
  }
}

void replace_file(const std::string& path, const std::function<void(AtomicWriter&)>& fill) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = -1;
  try {
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) save_failed(path, "creating ", tmp);
    AtomicWriter writer(fd, path, tmp);
    fill(writer);
    if (::fsync(fd) != 0) save_failed(path, "fsync of ", tmp);
    const int closing = fd;
    fd = -1;
    if (::close(closing) != 0) save_failed(path, "closing ", tmp);
    if (::rename(tmp.c_str(), path.c_str()) != 0) save_failed(path, "renaming ", tmp, " over it");
  } catch (...) {
    if (fd >= 0) ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  fsync_directory(path);
}

}  // namespace danlu::io
