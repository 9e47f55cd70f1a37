// EventSink that batches events from native threads into one JS callback invocation per
// turn of the event loop (a ThreadSafeFunction call is scheduled only when none is pending).
#pragma once
#include <napi.h>

#include <memory>
#include <mutex>
#include <vector>

#include "events.h"

namespace udrbd {

class EventQueue : public EventSink, public std::enable_shared_from_this<EventQueue> {
 public:
  // Bounded: a flood of identical I/O errors must not grow memory without limit.
  static constexpr size_t kMaxPending = 1024;

  static std::shared_ptr<EventQueue> Create(Napi::Env env, Napi::Function callback);
  void emit(Event ev) override;
  // No more events after this; drops the reference that kept the callback alive.
  void close();

 private:
  void deliver(Napi::Env env, Napi::Function callback);

  Napi::ThreadSafeFunction tsfn_;
  std::mutex mu_;
  std::vector<Event> pending_;
  uint64_t dropped_ = 0;
  bool scheduled_ = false;
  bool closed_ = false;
};

}  // namespace udrbd
