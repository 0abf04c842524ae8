// Crash-safe replacement of a file, for checkpoints and anything else that a
// crash or Ctrl-C must never leave half-written.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

namespace danlu::io {

// The temp file a replace_file writer fills.
class AtomicWriter {
 public:
  // Appends n bytes; a failure throws naming the target file.
  void write(const void* data, size_t n);
  void write(const std::string& bytes) { write(bytes.data(), bytes.size()); }

 private:
  friend void replace_file(const std::string&, const std::function<void(AtomicWriter&)>&);
  AtomicWriter(int fd, const std::string& path, const std::string& tmp)
      : fd_(fd), path_(path), tmp_(tmp) {}
  int fd_;
  const std::string& path_;
  const std::string& tmp_;
};

// Replaces `path` with what `fill` writes: the bytes go to <path>.tmp.<pid>
// in the same directory, which is fsynced and renamed over `path`, and then
// the directory is fsynced. On any failure (in `fill` too) the temp file is
// removed, an existing `path` is left as it was, and a one-line danlu::Error
// names `path`, the failed step and, where there is one, the fix.
void replace_file(const std::string& path, const std::function<void(AtomicWriter&)>& fill);

}  // namespace danlu::io
