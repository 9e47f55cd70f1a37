// JavaScript binding of Device + NbdServer (one object per minor). The TS side
// (src/engine/device.ts) validates and normalises every option; this file only reads them.
// Blocking work (open, bitmap flush, close) runs on libuv's worker threads and returns a
// Promise; the synchronous methods only touch atomics and memory.
#include <napi.h>

#include <functional>
#include <memory>
#include <mutex>

#include "device.h"
#include "event_queue.h"
#include "exports.h"
#include "nbd_server.h"

namespace udrbd {

namespace {

// Device and frontend of one minor, destroyed in the right order (frontend first).
struct Core {
  std::unique_ptr<Device> device;
  std::unique_ptr<NbdServer> server;
  ~Core() {
    if (server) server->stop();
    server.reset();
    device.reset();
  }
};

// Runs WORK on a libuv worker thread; resolves with RESULT(env) or rejects with the message
// of the exception WORK threw.
class PromiseWorker : public Napi::AsyncWorker {
 public:
  PromiseWorker(Napi::Env env, std::function<void()> work, std::function<Napi::Value(Napi::Env)> result)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), work_(std::move(work)),
        result_(std::move(result)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    try {
      work_();
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  void OnOK() override { deferred_.Resolve(result_ ? result_(Env()) : Env().Undefined()); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::function<void()> work_;
  std::function<Napi::Value(Napi::Env)> result_;
};

class DeviceWrap : public Napi::ObjectWrap<DeviceWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Device",
                       {InstanceMethod("open", &DeviceWrap::Open),
                        InstanceMethod("setPolicy", &DeviceWrap::SetPolicy),
                        InstanceMethod("counters", &DeviceWrap::Counters),
                        InstanceMethod("clients", &DeviceWrap::Clients),
                        InstanceMethod("bitmapCountSet", &DeviceWrap::BitmapCountSet),
                        InstanceMethod("bitmapSetAll", &DeviceWrap::BitmapSetAll),
                        InstanceMethod("bitmapClearAll", &DeviceWrap::BitmapClearAll),
                        InstanceMethod("bitmapSetRange", &DeviceWrap::BitmapSetRange),
                        InstanceMethod("bitmapClearRange", &DeviceWrap::BitmapClearRange),
                        InstanceMethod("bitmapTest", &DeviceWrap::BitmapTest),
                        InstanceMethod("bitmapFindNextSet", &DeviceWrap::BitmapFindNextSet),
                        InstanceMethod("bitmapDirtyPages", &DeviceWrap::BitmapDirtyPages),
                        InstanceMethod("flushBitmap", &DeviceWrap::FlushBitmap),
                        InstanceMethod("setAlSuspended", &DeviceWrap::SetAlSuspended),
                        InstanceMethod("close", &DeviceWrap::Close)});
  }

  // new Device(config, onEvents)
  explicit DeviceWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<DeviceWrap>(info) {
    auto c = info[0].As<Napi::Object>();
    auto str = [&](const char* k) { return c.Get(k).As<Napi::String>().Utf8Value(); };
    auto num = [&](const char* k) { return c.Get(k).As<Napi::Number>().Int64Value(); };
    dev_cfg_.backing_path = str("backingPath");
    dev_cfg_.usable_bytes = static_cast<uint64_t>(num("usableSizeBytes"));
    dev_cfg_.bitmap_offset = static_cast<uint64_t>(num("bitmapOffsetBytes"));
    dev_cfg_.bitmap_bits = static_cast<uint64_t>(num("bitmapBits"));
    dev_cfg_.io_threads = static_cast<unsigned>(num("ioThreads"));
    dev_cfg_.al_extents = static_cast<uint32_t>(num("alExtents"));
    dev_cfg_.al_offset = static_cast<uint64_t>(num("alOffsetBytes"));
    nbd_cfg_.unix_path = str("nbdSocketPath");
    nbd_cfg_.tcp_host = str("nbdTcpHost");
    nbd_cfg_.tcp_port = static_cast<int>(num("nbdTcpPort"));
    nbd_cfg_.export_name = str("exportName");
    nbd_cfg_.workers_per_conn = static_cast<unsigned>(num("workersPerClient"));
    nbd_cfg_.device_pool = c.Get("devicePool").As<Napi::Boolean>().Value();
    nbd_cfg_.max_inflight = static_cast<unsigned>(num("maxInflightPerClient"));
    nbd_cfg_.max_clients = static_cast<unsigned>(num("maxClients"));
    events_ = EventQueue::Create(info.Env(), info[1].As<Napi::Function>());
  }

  ~DeviceWrap() override { Shutdown(); }

 private:
  // Synchronous teardown for the two paths that cannot wait for a Promise: the object being
  // collected without close(), and the environment exiting (cleanup hook) with clients still
  // connected. Threads must be joined before the addon's code goes away.
  void Shutdown() {
    std::shared_ptr<Core> core;
    {
      std::lock_guard<std::mutex> lk(mu_);
      core.swap(core_);
      closed_ = true;
    }
    if (hook_added_) {
      napi_remove_env_cleanup_hook(Env(), &DeviceWrap::CleanupHook, this);
      hook_added_ = false;
    }
    core.reset();
    if (events_) events_->close();
  }
  static void CleanupHook(void* arg) {
    auto* self = static_cast<DeviceWrap*>(arg);
    self->hook_added_ = false;  // the hook is being consumed: do not remove it again
    self->Shutdown();
  }

  std::shared_ptr<Core> GetCore(Napi::Env env) {
    std::lock_guard<std::mutex> lk(mu_);
    if (!core_) {
      Napi::Error::New(env, closed_ ? "device is closed" : "device is not open").ThrowAsJavaScriptException();
    }
    return core_;
  }

  Napi::Value Open(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (opening_ || closed_) {
      Napi::Error::New(env, "device was already opened").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    opening_ = true;
    auto fresh = std::make_shared<Core>();
    auto dev_cfg = dev_cfg_;
    auto nbd_cfg = nbd_cfg_;
    auto events = events_;
    auto* w = new PromiseWorker(
        env,
        [fresh, dev_cfg, nbd_cfg, events] {
          fresh->device = std::make_unique<Device>(dev_cfg, events.get());
          fresh->server = std::make_unique<NbdServer>(*fresh->device, nbd_cfg, events.get());
          fresh->server->start();
        },
        [this, fresh](Napi::Env e) -> Napi::Value {
          {
            std::lock_guard<std::mutex> lk(mu_);
            if (!closed_) core_ = fresh;
          }
          if (!hook_added_ && core_) {
            napi_add_env_cleanup_hook(e, &DeviceWrap::CleanupHook, this);
            hook_added_ = true;
          }
          auto o = Napi::Object::New(e);
          o.Set("tcpPort", fresh->server->tcp_port());
          return o;
        });
    // Keep the JS object alive until open() settles: its result callback uses `this`.
    self_ref_ = Napi::Persistent(info.This().As<Napi::Object>());
    auto promise = w->Promise();
    w->Queue();
    return promise;
  }

  Napi::Value SetPolicy(const Napi::CallbackInfo& info) {
    auto core = GetCore(info.Env());
    if (!core) return info.Env().Undefined();
    auto p = info[0].As<Napi::Object>();
    auto flag = [&](const char* k) { return p.Get(k).As<Napi::Boolean>().Value(); };
    DevicePolicy pol;
    pol.primary = flag("primary");
    pol.writable = flag("writable");
    pol.disk_usable = flag("diskUsable");
    pol.mark_out_of_sync = flag("markOutOfSync");
    // Optional, so callers that predate it keep working.
    pol.read_from_peer_if_out_of_sync = p.Has("readFromPeerIfOutOfSync") && flag("readFromPeerIfOutOfSync");
    core->device->set_policy(pol);
    return info.Env().Undefined();
  }

  Napi::Value Counters(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto core = GetCore(env);
    if (!core) return env.Undefined();
    DeviceCounters c = core->device->counters();
    auto o = Napi::Object::New(env);
    auto set = [&](const char* k, double v) { o.Set(k, Napi::Number::New(env, v)); };
    set("ns", static_cast<double>(c.ns));
    set("nr", static_cast<double>(c.nr));
    set("dw", static_cast<double>(c.dw));
    set("dr", static_cast<double>(c.dr));
    set("al", static_cast<double>(c.al));
    set("bm", static_cast<double>(c.bm));
    set("lo", static_cast<double>(c.lo));
    set("pe", static_cast<double>(c.pe));
    set("ua", static_cast<double>(c.ua));
    set("ap", static_cast<double>(c.ap));
    set("ep", static_cast<double>(c.ep));
    set("oos", static_cast<double>(c.oos));
    o.Set("alSuspended", Napi::Boolean::New(env, core->device->al_suspended()));
    return o;
  }

  Napi::Value Clients(const Napi::CallbackInfo& info) {
    auto core = GetCore(info.Env());
    if (!core) return info.Env().Undefined();
    return Napi::Number::New(info.Env(), core->server->clients());
  }

  Napi::Value BitmapCountSet(const Napi::CallbackInfo& info) {
    auto core = GetCore(info.Env());
    if (!core) return info.Env().Undefined();
    return Napi::Number::New(info.Env(), static_cast<double>(core->device->bitmap().count()));
  }

  Napi::Value BitmapSetAll(const Napi::CallbackInfo& info) {
    auto core = GetCore(info.Env());
    if (core) core->device->bitmap().set_all();
    return info.Env().Undefined();
  }

  Napi::Value BitmapClearAll(const Napi::CallbackInfo& info) {
    auto core = GetCore(info.Env());
    if (core) core->device->bitmap().clear_all();
    return info.Env().Undefined();
  }

  static uint64_t U64(const Napi::Value& v) { return static_cast<uint64_t>(v.As<Napi::Number>().Int64Value()); }

  // bitmapSetRange(offsetBytes, lengthBytes) -> bits changed
  Napi::Value BitmapSetRange(const Napi::CallbackInfo& info) {
    auto core = GetCore(info.Env());
    if (!core) return info.Env().Undefined();
    return Napi::Number::New(info.Env(),
                             static_cast<double>(core->device->bitmap().set_range(U64(info[0]), U64(info[1]))));
  }

  Napi::Value BitmapClearRange(const Napi::CallbackInfo& info) {
    auto core = GetCore(info.Env());
    if (!core) return info.Env().Undefined();
    return Napi::Number::New(info.Env(),
                             static_cast<double>(core->device->bitmap().clear_range(U64(info[0]), U64(info[1]))));
  }

  Napi::Value BitmapTest(const Napi::CallbackInfo& info) {
    auto core = GetCore(info.Env());
    if (!core) return info.Env().Undefined();
    return Napi::Boolean::New(info.Env(), core->device->bitmap().test(U64(info[0])));
  }

  // bitmapFindNextSet(fromBit) -> bit index, or -1 when none is set at or after it
  Napi::Value BitmapFindNextSet(const Napi::CallbackInfo& info) {
    auto core = GetCore(info.Env());
    if (!core) return info.Env().Undefined();
    Bitmap& bm = core->device->bitmap();
    uint64_t bit = bm.find_next_set(U64(info[0]));
    return Napi::Number::New(info.Env(), bit >= bm.bits() ? -1.0 : static_cast<double>(bit));
  }

  Napi::Value BitmapDirtyPages(const Napi::CallbackInfo& info) {
    auto core = GetCore(info.Env());
    if (!core) return info.Env().Undefined();
    return Napi::Number::New(info.Env(), static_cast<double>(core->device->bitmap().dirty_pages()));
  }

  // flushBitmap() -> Promise<pages written>
  Napi::Value FlushBitmap(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto core = GetCore(env);
    if (!core) return env.Undefined();
    auto pages = std::make_shared<uint64_t>(0);
    auto* w = new PromiseWorker(
        env, [core, pages] { *pages = core->device->flush_bitmap(); },
        [pages](Napi::Env e) -> Napi::Value { return Napi::Number::New(e, static_cast<double>(*pages)); });
    auto promise = w->Promise();
    w->Queue();
    return promise;
  }

  // close() -> Promise: disconnects clients after their in-flight requests, stops the I/O
  // threads, writes the dirty bitmap pages and closes the backing device.
  Napi::Value SetAlSuspended(const Napi::CallbackInfo& info) {
    auto core = GetCore(info.Env());
    if (core) core->device->set_al_suspended(info[0].As<Napi::Boolean>().Value());
    return info.Env().Undefined();
  }

 public:
  // The open device with a reference that keeps it alive (for the peer link).
  std::shared_ptr<Device> SharedDevice() {
    std::lock_guard<std::mutex> lk(mu_);
    if (!core_) return nullptr;
    return std::shared_ptr<Device>(core_, core_->device.get());
  }
  static bool IsInstance(Napi::Value v) {
    return constructor_ != nullptr && v.IsObject() && v.As<Napi::Object>().InstanceOf(constructor_->Value());
  }
  static Napi::FunctionReference* constructor_;

 private:
  Napi::Value Close(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    std::shared_ptr<Core> core;
    {
      std::lock_guard<std::mutex> lk(mu_);
      core.swap(core_);
      closed_ = true;
    }
    if (hook_added_) {
      napi_remove_env_cleanup_hook(env, &DeviceWrap::CleanupHook, this);
      hook_added_ = false;
    }
    auto events = events_;
    // The last reference to the core is dropped on the worker thread (joins threads, flushes);
    // a flushBitmap() still running holds its own reference and finishes first.
    auto holder = std::make_shared<std::shared_ptr<Core>>(std::move(core));
    auto* w = new PromiseWorker(
        env, [holder] { holder->reset(); },
        [events](Napi::Env e) -> Napi::Value {
          events->close();
          return e.Undefined();
        });
    // Nothing below uses `this` any more; the object may be collected once JS drops it.
    if (!self_ref_.IsEmpty()) self_ref_.Reset();
    auto promise = w->Promise();
    w->Queue();
    return promise;
  }

  DeviceConfig dev_cfg_;
  NbdServerConfig nbd_cfg_;
  std::shared_ptr<EventQueue> events_;
  std::mutex mu_;
  std::shared_ptr<Core> core_;
  bool opening_ = false;
  bool closed_ = false;
  bool hook_added_ = false;
  Napi::ObjectReference self_ref_;
};

Napi::FunctionReference* DeviceWrap::constructor_ = nullptr;

}  // namespace

std::shared_ptr<Device> SharedDevice(Napi::Value v) {
  if (!DeviceWrap::IsInstance(v)) return nullptr;
  return DeviceWrap::Unwrap(v.As<Napi::Object>())->SharedDevice();
}

void RegisterDevice(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = DeviceWrap::Define(env);
  // One addon instance per process (the daemon); the reference lives as long as it does.
  DeviceWrap::constructor_ = new Napi::FunctionReference(Napi::Persistent(ctor));
  exports.Set("Device", ctor);
}

}  // namespace udrbd
