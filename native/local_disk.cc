#include "local_disk.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace udrbd {

LocalDisk::LocalDisk(const std::string& path) : path_(path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
  }
  int flags = O_RDWR | O_CLOEXEC | (S_ISBLK(st.st_mode) ? O_EXCL : 0);
  fd_ = ::open(path.c_str(), flags);
  if (fd_ < 0) throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
  if (::fstat(fd_, &st) != 0 ||
      (S_ISBLK(st.st_mode) && ::ioctl(fd_, BLKGETSIZE64, &size_bytes_) != 0)) {
    int e = errno;
    ::close(fd_);
    throw std::runtime_error("cannot get size of " + path + ": " + std::strerror(e));
  }
  if (S_ISREG(st.st_mode)) {
    size_bytes_ = static_cast<uint64_t>(st.st_size);
  } else if (S_ISBLK(st.st_mode)) {
    is_block_device_ = true;
  } else {
    ::close(fd_);
    throw std::runtime_error(path + ": not a block device or regular file");
  }
}

LocalDisk::~LocalDisk() {
  if (fd_ >= 0) ::close(fd_);
}

int LocalDisk::read(uint64_t offset, void* buf, size_t len) const {
  auto* p = static_cast<char*>(buf);
  while (len > 0) {
    ssize_t n = ::pread(fd_, p, len, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    if (n == 0) return EIO;  // past the end of the device
    p += n;
    len -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return 0;
}

int LocalDisk::write(uint64_t offset, const void* buf, size_t len) {
  auto* p = static_cast<const char*>(buf);
  while (len > 0) {
    ssize_t n = ::pwrite(fd_, p, len, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    p += n;
    len -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return 0;
}

int LocalDisk::sync() { return ::fdatasync(fd_) == 0 ? 0 : errno; }

int LocalDisk::discard(uint64_t offset, uint64_t len) {
  if (len == 0) return 0;
  if (is_block_device_) {
    uint64_t range[2] = {offset, len};
    if (::ioctl(fd_, BLKDISCARD, &range) == 0) return 0;
    // A device without discard support still has to read back zeros: DRBD's TRIM/zeroes
    // semantics on the peer are "the range reads as zeros".
    return zero(offset, len, false);
  }
  if (::fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(offset),
                  static_cast<off_t>(len)) == 0) {
    return 0;
  }
  return write_zero_buffers(offset, len);
}

int LocalDisk::zero(uint64_t offset, uint64_t len, bool allow_hole) {
  if (len == 0) return 0;
  if (is_block_device_) {
    uint64_t range[2] = {offset, len};
    if (::ioctl(fd_, BLKZEROOUT, &range) == 0) return 0;
    return write_zero_buffers(offset, len);
  }
  int mode = allow_hole ? (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE) : FALLOC_FL_ZERO_RANGE;
  if (::fallocate(fd_, mode, static_cast<off_t>(offset), static_cast<off_t>(len)) == 0) return 0;
  return write_zero_buffers(offset, len);  // e.g. tmpfs has no ZERO_RANGE
}

int LocalDisk::write_zero_buffers(uint64_t offset, uint64_t len) {
  static const char kZeros[64 * 1024] = {};
  while (len > 0) {
    size_t n = len < sizeof(kZeros) ? static_cast<size_t>(len) : sizeof(kZeros);
    if (int e = write(offset, kZeros, n)) return e;
    offset += n;
    len -= n;
  }
  return 0;
}

}  // namespace udrbd
