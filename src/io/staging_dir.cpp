#include "io/staging_dir.hpp"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/file_ops.hpp"
#include "util/error.hpp"

namespace qk {

namespace fs = std::filesystem;

namespace {

std::string temp_prefix(const fs::path& out) { return "." + out.filename().string() + ".qkrestore-tmp-"; }

// A run creates its directory under a "-new-" name, takes the lock inside, and only then renames it
// to the "-tmp-" name the cleanup looks at: every "-tmp-" directory has a lock file from its first
// moment. A "-new-" directory, named with its creator's pid, is left only by a kill inside that
// window; it is removed once that process is gone.
std::string new_prefix(const fs::path& out) { return "." + out.filename().string() + ".qkrestore-new-"; }

// The old OUT moved aside by the fallback install of --force (filesystems without RENAME_EXCHANGE),
// named with the pid of the run that moved it.
std::string old_prefix(const fs::path& out) { return "." + out.filename().string() + ".qkrestore-old-"; }

bool creator_is_gone(const std::string& name, const std::string& prefix) {
  const long pid = std::strtol(name.c_str() + prefix.size(), nullptr, 10);
  return pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
}

bool lock_is_held(const fs::path& dir) {
  int fd = ::open((dir / StagingDir::kLockFile).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;  // no lock file: a run that died
  bool held = ::flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);
  return held;
}

// A run killed between installing OUT and removing its lock file from it leaves that file in OUT.
void remove_dead_lock_file(const fs::path& out) {
  std::error_code ec;
  if (fs::exists(out / StagingDir::kLockFile, ec) && !lock_is_held(out)) fs::remove(out / StagingDir::kLockFile, ec);
}

}  // namespace

int remove_stale_staging_dirs(const fs::path& out) {
  const fs::path parent = out.parent_path().empty() ? fs::path(".") : out.parent_path();
  const std::string prefix = temp_prefix(out);
  int removed = 0;
  std::error_code ec;
  remove_dead_lock_file(out);
  for (const auto& entry : fs::directory_iterator(parent, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(old_prefix(out), 0) == 0) {
      if (!creator_is_gone(name, old_prefix(out))) continue;
      // The previous OUT, moved aside by a --force run killed before it installed its own: put it back.
      if (::renameat2(AT_FDCWD, entry.path().c_str(), AT_FDCWD, out.c_str(), RENAME_NOREPLACE) == 0) {
        remove_dead_lock_file(out);
        continue;
      }
    } else if (!entry.is_directory()) {
      continue;
    } else if (name.rfind(new_prefix(out), 0) == 0) {
      if (!creator_is_gone(name, new_prefix(out))) continue;
    } else if (name.rfind(prefix, 0) != 0 || lock_is_held(entry.path())) {
      continue;  // not ours, or a live run is writing there
    }
    std::error_code remove_ec;
    fs::remove_all(entry.path(), remove_ec);
    if (!remove_ec) ++removed;
  }
  return removed;
}

StagingDir::StagingDir(const fs::path& out, bool overwrite, Durability durability)
    : out_(fs::absolute(out).lexically_normal()), overwrite_(overwrite), durability_(durability) {
  if (out_.filename().empty()) out_ = out_.parent_path();
  const fs::path parent = out_.parent_path();
  if (!fs::is_directory(parent)) fail(ErrorKind::Io, "the parent directory of {} does not exist", out_.string());
  remove_stale_staging_dirs(out_);  // first: it may put back an OUT that a killed --force run had moved aside
  if (fs::exists(out_) && !overwrite)
    fail(ErrorKind::Usage, "{} already exists; pass --force to replace it", out_.string());
  std::string pattern = (parent / (new_prefix(out_) + std::to_string(::getpid()) + "-XXXXXX")).string();
  if (!::mkdtemp(pattern.data()))
    fail(ErrorKind::Io, "cannot create a temporary directory in {}: {}", parent.string(), std::strerror(errno));
  const fs::path fresh = pattern;
  temp_ = parent / (temp_prefix(out_) + pattern.substr(pattern.size() - 6));
  // mkdtemp makes the directory private (0700); OUT should get the usual permissions.
  mode_t mask = ::umask(0);
  ::umask(mask);
  ::chmod(fresh.c_str(), 0777 & ~mask);
  lock_fd_ = ::open((fresh / kLockFile).c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0 || ::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0 ||
      ::renameat2(AT_FDCWD, fresh.c_str(), AT_FDCWD, temp_.c_str(), RENAME_NOREPLACE) != 0) {
    int err = errno;
    std::error_code ec;
    fs::remove_all(fresh, ec);
    fail(ErrorKind::Io, "cannot prepare the temporary directory {}: {}", temp_.string(), std::strerror(err));
  }
}

StagingDir::~StagingDir() {
  if (!committed_) {
    std::error_code ec;
    fs::remove_all(temp_, ec);
  }
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

// Fallback for filesystems without RENAME_EXCHANGE: move the old OUT aside under a name carrying our
// pid, install, then delete it. A kill between the two renames leaves no OUT but the old one aside;
// the next run for this OUT puts it back (remove_stale_staging_dirs).
void StagingDir::install_by_moving_aside() {
  const fs::path parent = out_.parent_path();
  fs::path old;
  if (fs::exists(fs::symlink_status(out_))) {
    old = parent / (old_prefix(out_) + std::to_string(::getpid()));
    if (::rename(out_.c_str(), old.c_str()) != 0)
      fail(ErrorKind::Io, "cannot move the old {} aside: {}", out_.string(), std::strerror(errno));
  }
  // RENAME_NOREPLACE: if another run installed OUT between our check and now, we fail instead of clobbering it.
  if (::renameat2(AT_FDCWD, temp_.c_str(), AT_FDCWD, out_.c_str(), RENAME_NOREPLACE) != 0) {
    int err = errno;
    if (!old.empty() && ::renameat2(AT_FDCWD, old.c_str(), AT_FDCWD, out_.c_str(), RENAME_NOREPLACE) != 0) {
      std::error_code ec;
      fs::remove_all(old, ec);  // another run's complete OUT is in place; ours and the old one go
    }
    fail(ErrorKind::Io, "cannot install {}: {}", out_.string(),
         err == EEXIST || err == ENOTEMPTY ? "another run created it meanwhile" : std::strerror(err));
  }
  committed_ = true;
  finish_install(old);
}

void StagingDir::finish_install(const fs::path& old_tree) {
  ::unlink((out_ / kLockFile).c_str());
  if (durability_ == Durability::Disk) fsync_directory(out_.parent_path());
  if (!old_tree.empty()) {
    std::error_code ec;
    fs::remove_all(old_tree, ec);
  }
}

void StagingDir::commit() {
  // The lock file stays until the rename is done, so no other run takes this directory for a dead
  // run's leftovers while it is being installed; it is removed from OUT afterwards.
  if (durability_ == Durability::Disk) fsync_directory(temp_);
  if (fs::exists(fs::symlink_status(out_))) {
    if (!overwrite_) fail(ErrorKind::Io, "{} appeared while we were writing it (another run?); our output was not installed", out_.string());
    // --force: swap the new tree and the old OUT in one step, so OUT is at every moment the old
    // output or the new one (a kill -9 anywhere leaves one of them). The old tree, now under our
    // temporary name and without a lock file, is deleted next, or by the next run if we are killed.
    if (::renameat2(AT_FDCWD, temp_.c_str(), AT_FDCWD, out_.c_str(), RENAME_EXCHANGE) == 0) {
      committed_ = true;
      finish_install(temp_);
      return;
    }
    if (errno == EINVAL || errno == ENOSYS) return install_by_moving_aside();  // no RENAME_EXCHANGE on this filesystem
    if (errno != ENOENT)
      fail(ErrorKind::Io, "cannot replace {} with the new output: {}", out_.string(), std::strerror(errno));
    // ENOENT: OUT went away meanwhile (another run's fallback path, or the user); install as new.
  }
  // RENAME_NOREPLACE: if another run installed OUT between our check and now, we fail instead of clobbering it.
  if (::renameat2(AT_FDCWD, temp_.c_str(), AT_FDCWD, out_.c_str(), RENAME_NOREPLACE) != 0) {
    int err = errno;
    fail(ErrorKind::Io, "cannot install {}: {}", out_.string(),
         err == EEXIST || err == ENOTEMPTY ? "another run created it meanwhile" : std::strerror(err));
  }
  committed_ = true;
  finish_install({});
}

}  // namespace qk
