// A small fixed pool of native threads running requests handed over by callers that must not
// block on disk I/O themselves (e.g. a network receiver). FIFO, intrusive (no allocation per
// request).
#pragma once
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "request.h"

namespace udrbd {

class IoPool {
 public:
  using Runner = std::function<void(Request*)>;
  IoPool(unsigned threads, Runner run);
  ~IoPool();  // drains the queue, then joins
  void push(Request* r);

 private:
  void loop();
  Runner run_;
  std::mutex mu_;
  std::condition_variable cv_;
  Request* head_ = nullptr;
  Request* tail_ = nullptr;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace udrbd
