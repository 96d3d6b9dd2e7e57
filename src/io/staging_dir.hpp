// Builds an output directory atomically: everything is written into a hidden temporary directory
// beside OUT and renamed into place at the end, so a failure or a kill never leaves a partial OUT.
// A lock held on a file inside the temporary directory marks it live; temporaries of dead runs
// (killed with -9) are found by their unheld lock and removed by the next run for the same OUT.
// Replacing an existing OUT (--force) swaps the old and the new tree in one renameat2(RENAME_EXCHANGE),
// so OUT never goes missing, not even under kill -9.
#pragma once
#include <filesystem>

#include "io/file_ops.hpp"

namespace qk {

class StagingDir {
 public:
  // Throws Error(Usage) when OUT exists and `overwrite` is false, Error(Io) when its parent is missing.
  // Durability::Disk also puts the directories' entries on disk at commit (see commit()).
  StagingDir(const std::filesystem::path& out, bool overwrite, Durability durability);
  ~StagingDir();  // removes the temporary directory unless committed
  StagingDir(const StagingDir&) = delete;
  StagingDir& operator=(const StagingDir&) = delete;

  const std::filesystem::path& path() const { return temp_; }
  // Renames the temporary directory to OUT; when overwriting, exchanges it with the old OUT atomically and
  // then deletes the old tree. Under Durability::Disk the temporary directory is fsynced before the rename
  // and OUT's parent after it, so that a power loss finds the files' names with their (already fsynced)
  // data. Without it nothing is fsynced: the files' data may still sit in the page cache, so the names alone
  // on disk would guarantee nothing, and on ext4 a directory's fsync waits for the journal to write out the
  // data of every file allocated in it (1.5 s behind an 8 GB output's write-back). The rename is atomic to
  // every other process either way: a failure or a kill never shows a partial OUT.
  void commit();

  static constexpr const char* kLockFile = ".qkrestore.lock";

 private:
  std::filesystem::path out_;
  std::filesystem::path temp_;
  bool overwrite_;
  Durability durability_;
  int lock_fd_ = -1;
  bool committed_ = false;

  void install_by_moving_aside();
  void finish_install(const std::filesystem::path& old_tree);  // old_tree: empty when nothing was replaced
};

// Removes temporaries left beside OUT by runs that died; returns how many were removed.
int remove_stale_staging_dirs(const std::filesystem::path& out);

}  // namespace qk
