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

}  // namespace

int remove_stale_staging_dirs(const fs::path& out) {
  const fs::path parent = out.parent_path().empty() ? fs::path(".") : out.parent_path();
  const std::string prefix = temp_prefix(out);
  int removed = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(parent, ec)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_directory()) continue;
    if (name.rfind(new_prefix(out), 0) == 0) {
      if (!creator_is_gone(name, new_prefix(out))) continue;
    } else if (name.rfind(prefix, 0) != 0 || lock_is_held(entry.path())) {
      continue;  // not ours, or a live run is writing there
    }
    fs::remove_all(entry.path(), ec);
    if (!ec) ++removed;
  }
  return removed;
}

StagingDir::StagingDir(const fs::path& out, bool overwrite) : out_(fs::absolute(out).lexically_normal()), overwrite_(overwrite) {
  if (out_.filename().empty()) out_ = out_.parent_path();
  const fs::path parent = out_.parent_path();
  if (!fs::is_directory(parent)) fail(ErrorKind::Io, "the parent directory of {} does not exist", out_.string());
  if (fs::exists(out_) && !overwrite)
    fail(ErrorKind::Usage, "{} already exists; pass --force to replace it", out_.string());
  remove_stale_staging_dirs(out_);
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

void StagingDir::commit() {
  // The lock file stays until the rename is done, so no other run takes this directory for a dead
  // run's leftovers while it is being installed; it is removed from OUT afterwards.
  fsync_directory(temp_);
  const fs::path parent = out_.parent_path();
  fs::path old;
  if (fs::exists(out_)) {
    if (!overwrite_) fail(ErrorKind::Io, "{} appeared while we were writing it (another run?); our output was not installed", out_.string());
    old = parent / ("." + out_.filename().string() + ".qkrestore-old-" + std::to_string(::getpid()));
    if (::rename(out_.c_str(), old.c_str()) != 0)
      fail(ErrorKind::Io, "cannot move the old {} aside: {}", out_.string(), std::strerror(errno));
  }
  // RENAME_NOREPLACE: if another run installed OUT between our check and now, we fail instead of clobbering it.
  if (::renameat2(AT_FDCWD, temp_.c_str(), AT_FDCWD, out_.c_str(), RENAME_NOREPLACE) != 0) {
    int err = errno;
    if (!old.empty()) ::rename(old.c_str(), out_.c_str());
    fail(ErrorKind::Io, "cannot install {}: {}", out_.string(),
         err == EEXIST || err == ENOTEMPTY ? "another run created it meanwhile" : std::strerror(err));
  }
  committed_ = true;
  ::unlink((out_ / kLockFile).c_str());
  fsync_directory(parent);
  if (!old.empty()) {
    std::error_code ec;
    fs::remove_all(old, ec);
  }
}

}  // namespace qk
