#include "event_queue.h"

namespace udrbd {

std::shared_ptr<EventQueue> EventQueue::Create(Napi::Env env, Napi::Function callback) {
  auto q = std::make_shared<EventQueue>();
  q->tsfn_ = Napi::ThreadSafeFunction::New(env, callback, "udrbd-device-events", 0, 1);
  // Events alone must not keep the process alive: the daemon's own handles decide that.
  q->tsfn_.Unref(env);
  return q;
}

void EventQueue::emit(Event ev) {
  std::lock_guard<std::mutex> lk(mu_);
  if (closed_) return;
  if (pending_.size() >= kMaxPending) {
    ++dropped_;
    return;
  }
  pending_.push_back(std::move(ev));
  if (scheduled_) return;
  auto self = shared_from_this();
  if (tsfn_.NonBlockingCall([self](Napi::Env env, Napi::Function cb) { self->deliver(env, cb); }) == napi_ok) {
    scheduled_ = true;
  }
}

void EventQueue::deliver(Napi::Env env, Napi::Function callback) {
  std::vector<Event> batch;
  uint64_t dropped;
  {
    std::lock_guard<std::mutex> lk(mu_);
    batch.swap(pending_);
    dropped = dropped_;
    dropped_ = 0;
    scheduled_ = false;
  }
  if (env == nullptr) return;  // the environment is going away
  Napi::HandleScope scope(env);
  auto arr = Napi::Array::New(env, batch.size() + (dropped ? 1 : 0));
  uint32_t i = 0;
  for (auto& e : batch) {
    auto o = Napi::Object::New(env);
    o.Set("type", e.type);
    if (e.client) o.Set("client", static_cast<double>(e.client));
    if (e.err) o.Set("errno", e.err);
    if (e.len) {
      o.Set("offset", static_cast<double>(e.offset));
      o.Set("length", static_cast<double>(e.len));
    }
    if (!e.text.empty()) o.Set("message", e.text);
    for (const auto& [k, v] : e.numbers) o.Set(k, v);
    if (e.has_payload) o.Set("payload", Napi::Buffer<uint8_t>::Copy(env, e.payload.data(), e.payload.size()));
    arr.Set(i++, o);
  }
  if (dropped) {
    auto o = Napi::Object::New(env);
    o.Set("type", "eventsDropped");
    o.Set("count", static_cast<double>(dropped));
    arr.Set(i++, o);
  }
  callback.Call({arr});
}

void EventQueue::close() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (closed_) return;
    closed_ = true;
  }
  tsfn_.Release();
}

}  // namespace udrbd
