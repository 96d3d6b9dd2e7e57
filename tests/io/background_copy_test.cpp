#include "io/background_copy.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <random>

#include <gtest/gtest.h>

#include "support/temp_dir.hpp"
#include "util/error.hpp"

namespace qk {
namespace {

using test::TempDir;

// Small pieces, so that a few MB make hundreds of them and the two threads interleave.
constexpr std::uint64_t kTestPieceBytes = 16 << 10;

// A source file of `size` random bytes (so that a piece copied to the wrong place or twice shows).
// Returns the bytes.
std::string make_source(const std::filesystem::path& path, std::uint64_t size) {
  std::string bytes(size, '\0');
  std::mt19937 rng(25);
  for (auto& b : bytes) b = static_cast<char>(rng());
  OutputFile file(path, Durability::PageCache);
  file.resize(size);
  file.write_at(0, std::as_bytes(std::span(bytes.data(), bytes.size())));
  file.close();
  return bytes;
}

struct Source {
  int fd;
  explicit Source(const std::filesystem::path& path) : fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {}
  ~Source() { ::close(fd); }
};

TEST(BackgroundCopy, TwoThreadsCopyEveryRangeExactlyOnce) {
  TempDir dir;
  const std::uint64_t size = 6u << 20;
  const std::string source_bytes = make_source(dir / "source", size);
  Source source(dir / "source");
  OutputFile out(dir / "out", Durability::PageCache);
  out.resize(size);
  // The output is the source with its two halves swapped, in ranges of uneven sizes.
  const std::uint64_t half = size / 2;
  std::vector<CopyRange> ranges;
  std::string expected(size, '\0');
  for (std::uint64_t at = 0, length = 1; at < size; at += length, length = std::min(size - at, length * 7 + 13)) {
    const std::uint64_t from = (at + half) % size;
    const std::uint64_t piece = std::min(length, size - from);  // no range wraps around the source's end
    ranges.push_back({&out, at, source.fd, from, piece, "source"});
    std::copy_n(source_bytes.begin() + static_cast<std::ptrdiff_t>(from), piece, expected.begin() + static_cast<std::ptrdiff_t>(at));
    length = piece;
  }
  ASSERT_GT(ranges.size(), 5u);
  BackgroundCopy copy(std::move(ranges), kTestPieceBytes);
  copy.finish();  // the caller joins in at once
  out.close();
  std::string written(size, '\0');
  const Source result(dir / "out");
  ASSERT_EQ(::pread(result.fd, written.data(), size, 0), static_cast<ssize_t>(size));
  EXPECT_TRUE(written == expected) << "the output differs from the ranges' bytes";
}

TEST(BackgroundCopy, AShortSourceFailsWithItsNameOnEitherThread) {
  TempDir dir;
  make_source(dir / "source", 1 << 20);
  Source source(dir / "source");
  for (std::size_t bad = 0; bad < 4; ++bad) {
    OutputFile out(dir / ("out" + std::to_string(bad)), Durability::PageCache);
    out.resize(8 << 20);
    std::vector<CopyRange> ranges;
    for (std::size_t k = 0; k < 4; ++k) {
      // The bad range asks for 2 MB of a 1 MB file; where it sits decides which thread meets it.
      const std::uint64_t length = k == bad ? 2 << 20 : 1 << 19;
      ranges.push_back({&out, k * (2u << 20), source.fd, 0, length, k == bad ? "the short source" : "source"});
    }
    BackgroundCopy copy(std::move(ranges), kTestPieceBytes);
    try {
      copy.finish();
      ADD_FAILURE() << "no error with the bad range at " << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Io);
      EXPECT_NE(std::string(e.what()).find("the short source"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace qk
