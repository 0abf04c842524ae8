// fork/exec with stderr captured in a temporary file and a polling wait
// that kills the child at its time limit.
#include "subprocess.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

namespace danlu::fuzz {

Outcome run(const std::vector<std::string>& argv, double timeout_seconds) {
  char err_path[] = "/tmp/danlu-fuzz-stderr-XXXXXX";
  const int err_fd = mkstemp(err_path);
  Outcome o;
  if (err_fd < 0) {
    o.err = "cannot create a temporary file";
    return o;
  }
  const pid_t pid = fork();
  if (pid == 0) {
    const int null_fd = open("/dev/null", O_WRONLY);
    dup2(null_fd, 1);
    dup2(err_fd, 2);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::duration<double>(timeout_seconds);
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      o.timed_out = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (!o.timed_out && WIFEXITED(status)) o.exit_code = WEXITSTATUS(status);
  if (!o.timed_out && WIFSIGNALED(status)) o.signal = WTERMSIG(status);
  close(err_fd);
  std::ifstream in(err_path);
  std::ostringstream text;
  text << in.rdbuf();
  o.err = text.str();
  std::remove(err_path);
  return o;
}

std::string judge(const Outcome& o) {
  if (o.timed_out) return "timed out";
  if (o.signal) return "killed by signal " + std::to_string(o.signal);
  for (const char* bad : {"terminate called", "Sanitizer", "runtime error:"})
    if (o.err.find(bad) != std::string::npos) return std::string("stderr holds \"") + bad + "\"";
  if (o.exit_code == 0) return "";
  std::string last;
  std::istringstream lines(o.err);
  int errors = 0;
  for (std::string line; std::getline(lines, line);) {
    last = line;
    errors += line.rfind("danlu: error: ", 0) == 0;
  }
  if (errors != 1 || last.rfind("danlu: error: ", 0) != 0)
    return "exit " + std::to_string(o.exit_code) + " without one final \"danlu: error:\" line";
  return "";
}

}  // namespace danlu::fuzz
