#include "io_pool.h"

namespace udrbd {

IoPool::IoPool(unsigned threads, Runner run) : run_(std::move(run)) {
  for (unsigned i = 0; i < threads; ++i) threads_.emplace_back([this] { loop(); });
}

IoPool::~IoPool() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void IoPool::push(Request* r) {
  r->next = nullptr;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (tail_) tail_->next = r; else head_ = r;
    tail_ = r;
  }
  cv_.notify_one();
}

void IoPool::loop() {
  std::unique_lock<std::mutex> lk(mu_);
  while (true) {
    cv_.wait(lk, [this] { return head_ != nullptr || stopping_; });
    if (!head_) return;  // stopping and drained
    Request* r = head_;
    head_ = r->next;
    if (!head_) tail_ = nullptr;
    lk.unlock();
    run_(r);
    lk.lock();
  }
}

}  // namespace udrbd
