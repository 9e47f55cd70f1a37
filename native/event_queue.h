// Events from native threads to JavaScript: queued under a lock and delivered in order, in
// batches, through one thread-safe function (one JS call per batch, never per request).
#pragma once
#include <napi.h>

#include <functional>
#include <mutex>
#include <vector>

namespace udrbd {

class EventQueue {
 public:
  // Builds the JS value of one event on the JS thread.
  using Builder = std::function<Napi::Value(Napi::Env)>;

  // Heap-allocated; the queue deletes itself once closed and drained (the thread-safe
  // function's finalizer), so a native thread can never call into a freed queue.
  static EventQueue* Create(Napi::Env env, Napi::Function callback, const char* name);
  void Push(Builder b);
  // Stops delivery; later pushes are dropped. The owner must not use the pointer afterwards.
  void Close();

 private:
  EventQueue() = default;
  ~EventQueue() = default;
  static void Deliver(Napi::Env env, Napi::Function cb, EventQueue* self, std::nullptr_t*);
  using Tsfn = Napi::TypedThreadSafeFunction<EventQueue, std::nullptr_t, &EventQueue::Deliver>;
  Tsfn tsfn_;
  std::mutex mu_;
  std::vector<Builder> pending_;
  bool scheduled_ = false;
  bool closed_ = false;
};

}  // namespace udrbd
