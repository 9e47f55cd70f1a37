// The backing device as the request path sees it: a file descriptor with positioned I/O that
// reports errors as errno values instead of throwing (the hot path runs on native I/O threads
// where an exception would only be caught and turned back into an errno).
// BackingStore (backing_store.h) is the throwing, JS-facing counterpart for the offline tools.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace udrbd {

class LocalDisk {
 public:
  // Opens PATH read-write (O_EXCL on block devices: nobody else may hold it, like the kernel
  // claiming its lower device). Throws std::runtime_error naming the path and the reason.
  explicit LocalDisk(const std::string& path);
  ~LocalDisk();
  LocalDisk(const LocalDisk&) = delete;
  LocalDisk& operator=(const LocalDisk&) = delete;

  uint64_t size_bytes() const { return size_bytes_; }
  const std::string& path() const { return path_; }

  // Each returns 0 or a positive errno. Full-length: short transfers are retried.
  int read(uint64_t offset, void* buf, size_t len) const;
  int write(uint64_t offset, const void* buf, size_t len);
  int sync();  // fdatasync: data and the metadata needed to read it back
  // Deallocates the range where the device can (reads return zeros afterwards).
  int discard(uint64_t offset, uint64_t len);
  // Zeroes the range; ALLOW_HOLE lets a file punch a hole instead of allocating zeros.
  int zero(uint64_t offset, uint64_t len, bool allow_hole);

 private:
  int write_zero_buffers(uint64_t offset, uint64_t len);

  std::string path_;
  int fd_ = -1;
  uint64_t size_bytes_ = 0;
  bool is_block_device_ = false;
};

}  // namespace udrbd
