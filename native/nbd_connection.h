// One NBD client: the handshake, then the transmission phase on a few worker threads that
// take turns reading requests from the socket (one reader at a time), run them on the Device
// and send the replies (under a write lock). Requests complete in any order; replies carry the
// client's handle. The worker that reads a request also runs its local I/O, so a request is
// never handed between threads on its way to the disk.
#pragma once
#include <sys/uio.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "request.h"

namespace udrbd {

class NbdServer;

class NbdConnection {
 public:
  NbdConnection(NbdServer& server, int fd, uint64_t id);
  ~NbdConnection();
  // Starts the connection's main thread.
  void start();
  // Makes every blocked socket call return; the connection then winds down by itself.
  void shutdown();
  void join();
  bool finished() const { return finished_.load(std::memory_order_acquire); }

 private:
  struct Slot;  // a pooled request with its buffer

  void run();
  bool handshake();
  bool handle_option(uint32_t opt, const std::string& data, bool* go);
  bool send_option_reply(uint32_t opt, uint32_t type, const void* data, uint32_t len);
  bool name_ok(const std::string& name) const;
  uint16_t transmission_flags() const;

  void worker();
  void release_reader();
  void wake_all_workers();
  bool read_exact(void* dst, size_t n);
  bool send_all(struct iovec* iov, int iovcnt);
  void close_with(const std::string& reason, bool protocol_error);
  Slot* get_slot(size_t payload);
  void put_slot(Slot* s);
  void reply(Slot* s, uint32_t err, bool with_data);
  static void on_complete(Request* r, int err);

  NbdServer& server_;
  int fd_;
  uint64_t id_;
  std::thread main_;
  std::atomic<bool> finished_{false};
  std::atomic<bool> closing_{false};
  std::string close_reason_;
  std::mutex reason_mu_;

  // Socket input, buffered: many small requests arrive per recv(). Only the worker that holds
  // the reader role (reader_busy_) touches the socket's receive side and rbuf_.
  std::mutex reader_mu_;
  std::condition_variable reader_cv_;
  bool reader_busy_ = false;
  std::unique_ptr<char[]> rbuf_;
  size_t rpos_ = 0, rlen_ = 0;

  std::mutex write_mu_;

  // Request slots and in-flight accounting.
  std::mutex slot_mu_;
  std::condition_variable slot_cv_;
  std::vector<Slot*> free_;
  std::vector<std::unique_ptr<Slot>> all_;
  unsigned inflight_ = 0;
  size_t inflight_bytes_ = 0;
};

}  // namespace udrbd
