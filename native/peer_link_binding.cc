// JavaScript binding of PeerLink: `new PeerLink(device, onEvents)`. The link becomes the
// device's replicator; the device serves the peer's I/O (DevicePeerHost). Settings are
// validated and normalised in TypeScript (src/engine/peer-link.ts) before they cross.
#include <napi.h>

#include <memory>

#include "device_peer_host.h"
#include "event_queue.h"
#include "exports.h"
#include "peer_link.h"

namespace udrbd {
namespace {

// Link events as device-style events with named numbers (and the control packet's bytes).
class LinkEvents : public PeerLinkEvents {
 public:
  explicit LinkEvents(std::shared_ptr<EventQueue> q) : q_(std::move(q)) {}
  void OnConnecting() override { q_->emit(Event{"connecting"}); }
  void OnConnected(int agreed, uint32_t features, bool resolve_conflicts) override {
    Event e{"connected"};
    e.numbers = {{"agreedProtocol", agreed}, {"features", features}, {"resolveConflicts", resolve_conflicts ? 1 : 0}};
    q_->emit(std::move(e));
  }
  void OnControl(uint16_t cmd, std::vector<uint8_t> payload, bool from_meta) override {
    Event e{"control"};
    e.numbers = {{"cmd", cmd}, {"meta", from_meta ? 1 : 0}};
    e.payload = std::move(payload);
    e.has_payload = true;
    q_->emit(std::move(e));
  }
  void OnLost(LinkLoss why) override {
    Event e{"lost"};
    e.text = LinkLossName(why);
    q_->emit(std::move(e));
  }
  void OnFatal(const std::string& reason) override {
    Event e{"fatal"};
    e.text = reason;
    q_->emit(std::move(e));
  }
  void OnBitmapReceived(uint64_t bits_set) override {
    Event e{"bitmapReceived"};
    e.numbers = {{"bitsSet", static_cast<double>(bits_set)}};
    q_->emit(std::move(e));
  }
  void OnResyncDone(uint64_t failed_bits) override {
    Event e{"resyncDone"};
    e.numbers = {{"failedBits", static_cast<double>(failed_bits)}};
    q_->emit(std::move(e));
  }
  void OnLog(int level, const std::string& msg) override {
    Event e{"log"};
    e.text = msg;
    e.numbers = {{"level", level}};
    q_->emit(std::move(e));
  }

 private:
  std::shared_ptr<EventQueue> q_;
};

class PeerLinkWrap : public Napi::ObjectWrap<PeerLinkWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "PeerLink",
                       {InstanceMethod("start", &PeerLinkWrap::Start), InstanceMethod("stop", &PeerLinkWrap::Stop),
                        InstanceMethod("dropConnection", &PeerLinkWrap::DropConnection),
                        InstanceMethod("resumeReceive", &PeerLinkWrap::ResumeReceive),
                        InstanceMethod("setReplicating", &PeerLinkWrap::SetReplicating),
                        InstanceMethod("sendControl", &PeerLinkWrap::SendControl),
                        InstanceMethod("counters", &PeerLinkWrap::Counters),
                        InstanceMethod("sendBitmap", &PeerLinkWrap::SendBitmap),
                        InstanceMethod("startResync", &PeerLinkWrap::StartResync),
                        InstanceMethod("stopResync", &PeerLinkWrap::StopResync),
                        InstanceMethod("resyncTick", &PeerLinkWrap::ResyncTick),
                        InstanceMethod("resyncStatus", &PeerLinkWrap::ResyncStatus)});
  }

  explicit PeerLinkWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<PeerLinkWrap>(info) {
    Napi::Env env = info.Env();
    std::shared_ptr<Device> device = SharedDevice(info[0]);
    if (!device) {
      Napi::TypeError::New(env, "PeerLink needs an open Device").ThrowAsJavaScriptException();
      return;
    }
    queue_ = EventQueue::Create(env, info[1].As<Napi::Function>());
    events_ = std::make_unique<LinkEvents>(queue_);
    host_ = std::make_unique<DevicePeerHost>(std::move(device));
    link_ = std::make_unique<PeerLink>(host_.get(), events_.get());
  }

  ~PeerLinkWrap() override { Shutdown(); }

 private:
  // Stops the link, detaches it from the device and drops the device reference: a stopped
  // link never holds a closed device open. It cannot be started again.
  void Shutdown() {
    if (!link_) return;
    host_->device().set_replicator(nullptr);
    link_->Stop();
    link_.reset();
    host_.reset();
    if (queue_) queue_->close();
  }

  bool Alive(Napi::Env env) {
    if (link_) return true;
    Napi::Error::New(env, "peer link is stopped").ThrowAsJavaScriptException();
    return false;
  }

  static int Int(const Napi::Object& o, const char* k) { return o.Get(k).As<Napi::Number>().Int32Value(); }
  static std::string Str(const Napi::Object& o, const char* k) { return o.Get(k).As<Napi::String>().Utf8Value(); }

  Napi::Value Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Alive(env)) return env.Undefined();
    auto o = info[0].As<Napi::Object>();
    NetSettings s;
    try {
      s.local = SockAddr::Parse(Str(o, "localAddress"), static_cast<uint16_t>(Int(o, "localPort")));
      s.peer = SockAddr::Parse(Str(o, "peerAddress"), static_cast<uint16_t>(Int(o, "peerPort")));
    } catch (const std::exception& e) {
      Napi::Error::New(env, e.what()).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    s.protocol = Int(o, "protocol");
    s.ping_int_ms = Int(o, "pingIntMs");
    s.ping_timeout_ms = Int(o, "pingTimeoutMs");
    s.timeout_ms = Int(o, "timeoutMs");
    s.connect_int_ms = Int(o, "connectIntMs");
    s.ko_count = Int(o, "koCount");
    s.max_epoch_size = Int(o, "maxEpochSize");
    s.sndbuf_size = Int(o, "sndbufSize");
    s.rcvbuf_size = Int(o, "rcvbufSize");
    s.cram_hmac_alg = Str(o, "cramHmacAlg");
    s.shared_secret = Str(o, "sharedSecret");
    link_->Start(s);
    host_->device().set_replicator(link_.get());
    return env.Undefined();
  }

  Napi::Value Stop(const Napi::CallbackInfo& info) {
    Shutdown();
    return info.Env().Undefined();
  }

  Napi::Value DropConnection(const Napi::CallbackInfo& info) {
    if (!Alive(info.Env())) return info.Env().Undefined();
    std::string why = info[0].As<Napi::String>().Utf8Value();
    LinkLoss l = why == "ProtocolError" ? LinkLoss::kProtocolError
                 : why == "Timeout"     ? LinkLoss::kTimeout
                 : why == "BrokenPipe"  ? LinkLoss::kBrokenPipe
                 : why == "TearDown"    ? LinkLoss::kTearDown
                                        : LinkLoss::kNetworkFailure;
    link_->DropConnection(l);
    return info.Env().Undefined();
  }

  Napi::Value ResumeReceive(const Napi::CallbackInfo& info) {
    if (link_) link_->ResumeReceive();
    return info.Env().Undefined();
  }

  Napi::Value SetReplicating(const Napi::CallbackInfo& info) {
    if (link_) link_->SetReplicating(info[0].As<Napi::Boolean>().Value());
    return info.Env().Undefined();
  }

  Napi::Value SendControl(const Napi::CallbackInfo& info) {
    if (!link_) return Napi::Boolean::New(info.Env(), false);
    auto cmd = static_cast<uint16_t>(info[0].As<Napi::Number>().Uint32Value());
    auto buf = info[1].As<Napi::Buffer<uint8_t>>();
    bool meta = info[2].As<Napi::Boolean>().Value();
    std::vector<uint8_t> payload(buf.Data(), buf.Data() + buf.Length());
    return Napi::Boolean::New(info.Env(), link_->SendControl(cmd, payload, meta));
  }

  Napi::Value Counters(const Napi::CallbackInfo& info) {
    auto o = Napi::Object::New(info.Env());
    PeerLink::Counters c = link_ ? link_->counters() : PeerLink::Counters{0, 0, 0, 0, 1};
    o.Set("nsBytes", static_cast<double>(c.ns_bytes));
    o.Set("nrBytes", static_cast<double>(c.nr_bytes));
    o.Set("pe", static_cast<double>(c.pe));
    o.Set("ua", static_cast<double>(c.ua));
    o.Set("ep", static_cast<double>(c.ep));
    o.Set("connected", link_ ? link_->connected() : false);
    return o;
  }

  // sendBitmap(useRle) -> queued (false when not connected)
  Napi::Value SendBitmap(const Napi::CallbackInfo& info) {
    if (!link_) return Napi::Boolean::New(info.Env(), false);
    return Napi::Boolean::New(info.Env(), link_->SendBitmap(info[0].As<Napi::Boolean>().Value()));
  }

  // startResync(role: 'source' | 'target', maxBioSize)
  Napi::Value StartResync(const Napi::CallbackInfo& info) {
    if (!Alive(info.Env())) return info.Env().Undefined();
    std::string role = info[0].As<Napi::String>().Utf8Value();
    std::string csums = info.Length() > 2 && info[2].IsString() ? info[2].As<Napi::String>().Utf8Value() : "";
    link_->StartResync(role == "source" ? ResyncRole::kSource : ResyncRole::kTarget,
                       info[1].As<Napi::Number>().Uint32Value(), csums);
    return info.Env().Undefined();
  }

  Napi::Value StopResync(const Napi::CallbackInfo& info) {
    if (link_) link_->StopResync();
    return info.Env().Undefined();
  }

  // resyncTick(nRequests) -> requests queued
  Napi::Value ResyncTick(const Napi::CallbackInfo& info) {
    if (!link_) return Napi::Number::New(info.Env(), 0);
    return Napi::Number::New(info.Env(), link_->ResyncTick(info[0].As<Napi::Number>().Uint32Value()));
  }

  Napi::Value ResyncStatus(const Napi::CallbackInfo& info) {
    auto o = Napi::Object::New(info.Env());
    udrbd::ResyncStatus s = link_ ? link_->ResyncStatusTake() : udrbd::ResyncStatus{0, 0, 0, 0, 0};
    o.Set("sectIn", static_cast<double>(s.sect_in));
    o.Set("rsInFlight", static_cast<double>(s.rs_in_flight));
    o.Set("bitsLeft", static_cast<double>(s.bits_left));
    o.Set("failedBits", static_cast<double>(s.failed_bits));
    o.Set("position", static_cast<double>(s.position));
    return o;
  }

  std::shared_ptr<EventQueue> queue_;
  std::unique_ptr<LinkEvents> events_;
  std::unique_ptr<DevicePeerHost> host_;
  std::unique_ptr<PeerLink> link_;
};

}  // namespace

// resyncRequestBlocks(first, budget, nbits, maxBioSize, bits: Buffer LSB-first) -> blocks:
// the pure request-building rule (resync.h), so its alignment and boundary cases can be
// tested without two nodes.
Napi::Value ResyncRequestBlocksJs(const Napi::CallbackInfo& info) {
  auto num = [&](size_t i) { return static_cast<uint64_t>(info[i].As<Napi::Number>().Int64Value()); };
  auto bits = info[4].As<Napi::Buffer<uint8_t>>();
  const uint8_t* b = bits.Data();
  const size_t n = bits.Length();
  auto wanted = [b, n](uint64_t i) { return i / 8 < n && ((b[i / 8] >> (i % 8)) & 1); };
  uint32_t blocks = ResyncRequestBlocks(num(0), static_cast<uint32_t>(num(1)), num(2), static_cast<uint32_t>(num(3)), wanted);
  return Napi::Number::New(info.Env(), blocks);
}

void RegisterPeerLink(Napi::Env env, Napi::Object exports) {
  exports.Set("PeerLink", PeerLinkWrap::Define(env));
  exports.Set("resyncRequestBlocks", Napi::Function::New(env, ResyncRequestBlocksJs, "resyncRequestBlocks"));
}

}  // namespace udrbd
