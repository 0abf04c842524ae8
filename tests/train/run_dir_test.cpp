// The run directory belongs to one run: a second run in it is refused
// unless it resumes or overwrites, a second process is refused by the lock
// (which names the holder's pid), stale temp files of dead processes go, and
// an --out that cannot be a directory fails before anything loads.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "engine/error.h"
#include "train/run_dir.h"

namespace danlu::train {
namespace {

namespace fs = std::filesystem;

class RunDir : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("danlu_run_dir_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string error_of(const fs::path& dir, ExistingRun existing) {
    try {
      RunDirectory claim(dir.string(), existing);
    } catch (const Error& e) {
      return e.what();
    }
    return "no error";
  }
  void touch(const fs::path& p) { std::ofstream(p) << "x\n"; }
  fs::path dir_;
};

TEST_F(RunDir, AnEarlierRunIsRefusedNotOverwritten) {
  RunDirectory(dir_.string(), ExistingRun::refuse);  // an empty directory is fine
  touch(dir_ / "metrics.jsonl");
  touch(dir_ / "last.safetensors");
  const std::string e = error_of(dir_, ExistingRun::refuse);
  EXPECT_NE(e.find("already holds a run"), std::string::npos) << e;
  EXPECT_NE(e.find("--resume"), std::string::npos) << e;
  EXPECT_NE(e.find("--overwrite"), std::string::npos) << e;
  EXPECT_TRUE(fs::exists(dir_ / "metrics.jsonl"));  // untouched

  RunDirectory(dir_.string(), ExistingRun::continue_);  // --resume keeps the files
  EXPECT_TRUE(fs::exists(dir_ / "metrics.jsonl"));
}

TEST_F(RunDir, OverwriteRemovesTheOldRunsFilesOnly) {
  fs::create_directories(dir_);
  for (const char* f : {"metrics.jsonl", "config.json", "last.safetensors", "best.safetensors",
                        "loss.png", "notes.txt"})
    touch(dir_ / f);
  RunDirectory(dir_.string(), ExistingRun::overwrite);
  for (const char* f : {"metrics.jsonl", "config.json", "last.safetensors", "best.safetensors",
                        "loss.png"})
    EXPECT_FALSE(fs::exists(dir_ / f)) << f;
  EXPECT_TRUE(fs::exists(dir_ / "notes.txt"));  // not a run's file: the user's
}

TEST_F(RunDir, ASecondClaimIsRefusedWithTheHoldersPid) {
  RunDirectory first(dir_.string(), ExistingRun::refuse);
  const std::string e = error_of(dir_, ExistingRun::refuse);
  EXPECT_NE(e.find("another danlu process (pid " + std::to_string(::getpid()) + ")"),
            std::string::npos)
      << e;
  EXPECT_NE(error_of(dir_, ExistingRun::continue_).find("another danlu process"), std::string::npos);
}

TEST_F(RunDir, TheLockEndsWithItsHolder) {
  { RunDirectory first(dir_.string(), ExistingRun::refuse); }
  EXPECT_EQ(error_of(dir_, ExistingRun::refuse), "no error");
}

TEST_F(RunDir, StaleTempFilesOfDeadProcessesAreRemoved) {
  fs::create_directories(dir_);
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ASSERT_GT(child, 0);
  ::waitpid(child, nullptr, 0);  // its pid now names no process
  const fs::path dead = dir_ / ("last.safetensors.tmp." + std::to_string(child));
  const fs::path live = dir_ / ("best.safetensors.tmp." + std::to_string(::getpid()));
  const fs::path other = dir_ / "data.tmp.notapid";
  touch(dead), touch(live), touch(other);
  RunDirectory(dir_.string(), ExistingRun::refuse);
  EXPECT_FALSE(fs::exists(dead));
  EXPECT_TRUE(fs::exists(live));  // its writer may still rename it
  EXPECT_TRUE(fs::exists(other));
}

TEST_F(RunDir, AnOutThatCannotBeADirectoryFailsAtOnce) {
  fs::create_directories(dir_);
  touch(dir_ / "file");
  const std::string below = error_of(dir_ / "file" / "run", ExistingRun::refuse);
  EXPECT_NE(below.find("cannot create the run directory"), std::string::npos) << below;
  const std::string itself = error_of(dir_ / "file", ExistingRun::refuse);
  EXPECT_NE(itself.find("is not a directory"), std::string::npos) << itself;
}

}  // namespace
}  // namespace danlu::train
