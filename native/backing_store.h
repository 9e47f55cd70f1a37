// A backing device or file: size discovery and positioned I/O. Used by the data path and,
// synchronously, by the offline meta-data tools (create-md, dump-md, apply-al).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace udrbd {

class BackingStore {
 public:
  // Opens PATH read-only or read-write; throws std::runtime_error naming the path and errno.
  BackingStore(const std::string& path, bool writable, bool exclusive);
  ~BackingStore();
  BackingStore(const BackingStore&) = delete;
  BackingStore& operator=(const BackingStore&) = delete;

  uint64_t size_bytes() const { return size_bytes_; }
  bool is_block_device() const { return is_block_device_; }
  const std::string& path() const { return path_; }

  // Full-length positioned I/O (loops over short reads/writes); throw on error or EOF.
  void read_at(uint64_t offset, void* buf, size_t len) const;
  void write_at(uint64_t offset, const void* buf, size_t len);
  void flush();
  void close();

 private:
  std::string path_;
  int fd_ = -1;
  uint64_t size_bytes_ = 0;
  bool is_block_device_ = false;
};

}  // namespace udrbd
