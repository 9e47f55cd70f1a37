#include "event_queue.h"

namespace udrbd {

EventQueue* EventQueue::Create(Napi::Env env, Napi::Function callback, const char* name) {
  auto* q = new EventQueue();
  q->tsfn_ = Tsfn::New(env, callback, name, 0, 1, q, [](Napi::Env, void*, EventQueue* self) { delete self; },
                       static_cast<void*>(nullptr));
  return q;
}

void EventQueue::Push(Builder b) {
  std::lock_guard<std::mutex> l(mu_);
  if (closed_) return;
  pending_.push_back(std::move(b));
  if (!scheduled_) {
    scheduled_ = true;
    tsfn_.NonBlockingCall(static_cast<std::nullptr_t*>(nullptr));
  }
}

void EventQueue::Close() {
  std::lock_guard<std::mutex> l(mu_);
  if (closed_) return;
  closed_ = true;
  tsfn_.Release();
}

void EventQueue::Deliver(Napi::Env env, Napi::Function cb, EventQueue* self, std::nullptr_t*) {
  if (env == nullptr || self == nullptr) return;
  std::vector<Builder> batch;
  {
    std::lock_guard<std::mutex> l(self->mu_);
    batch.swap(self->pending_);
    self->scheduled_ = false;
  }
  if (batch.empty()) return;
  Napi::Array arr = Napi::Array::New(env, batch.size());
  for (size_t i = 0; i < batch.size(); i++) arr.Set(static_cast<uint32_t>(i), batch[i](env));
  cb.Call({arr});
}

}  // namespace udrbd
