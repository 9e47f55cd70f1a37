// Standalone C++ check of Device's completion rule with a replicator attached
// (native/replicator.h): built and run by native-replicator.test.ts. A scripted Replicator
// plays the peer link. Prints one line per failed check and exits non-zero if any failed.
#include <atomic>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "device.h"

using namespace udrbd;

namespace {

int failures = 0, checks = 0;
#define CHECK(cond)                                                   \
  do {                                                                \
    ++checks;                                                         \
    if (!(cond)) {                                                    \
      ++failures;                                                     \
      std::printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);     \
    }                                                                 \
  } while (0)

enum class Mode { Decline, AckNow, NackNow, Defer };

class ScriptedPeer : public Replicator {
 public:
  explicit ScriptedPeer(Device& d) : dev_(d) {}
  Mode mode = Mode::AckNow;
  std::vector<Request*> deferred;
  int writes = 0, reads = 0, flushes = 0;

  bool submit_write(Request& r) override {
    ++writes;
    return take(r);
  }
  bool submit_flush(Request& r) override {
    ++flushes;
    return take(r);
  }
  bool submit_read(Request& r) override {
    ++reads;
    if (mode != Mode::Decline && mode != Mode::NackNow) std::memset(r.data, 0x5a, r.len);
    return take(r);
  }

 private:
  bool take(Request& r) {
    switch (mode) {
      case Mode::Decline: return false;
      case Mode::AckNow: dev_.net_done(&r, true); return true;
      case Mode::NackNow: dev_.net_done(&r, false); return true;
      case Mode::Defer: deferred.push_back(&r); return true;
    }
    return false;
  }
  Device& dev_;
};

struct Done {
  std::atomic<int> calls{0};
  std::atomic<int> err{-1};
};

void OnDone(Request* r, int err) {
  auto* d = static_cast<Done*>(r->owner);
  d->err.store(err);
  d->calls.fetch_add(1);
}

struct Io {
  Request req;
  Done done;
  std::vector<char> buf;
  Io(Op op, uint64_t off, uint64_t len) : buf(len ? len : 1, 1) {
    req.op = op;
    req.offset = off;
    req.len = len;
    req.data = buf.data();
    req.complete = &OnDone;
    req.owner = &done;
  }
};

DevicePolicy Policy(bool writable, bool disk, bool mark) { return {true, writable, disk, mark}; }

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s BACKING_FILE (>= 2 MiB)\n", argv[0]);
    return 2;
  }
  DeviceConfig cfg;
  cfg.backing_path = argv[1];
  cfg.usable_bytes = 1 << 20;
  cfg.bitmap_offset = 1 << 20;
  cfg.bitmap_bits = 256;
  Device dev(cfg, nullptr);
  Bitmap& bm = dev.bitmap();
  bm.clear_all();  // the device loads whatever an earlier run left in the meta-data area
  ScriptedPeer peer(dev);

  // No replicator: local completion; bits only when the policy says "mark out of sync".
  dev.set_policy(Policy(true, true, false));
  { Io w(Op::Write, 0, 4096); dev.execute(&w.req); CHECK(w.done.calls == 1 && w.done.err == 0); CHECK(bm.count() == 0); }
  dev.set_policy(Policy(true, true, true));
  { Io w(Op::Write, 4096, 4096); dev.execute(&w.req); CHECK(w.done.err == 0); CHECK(bm.test(1) && bm.count() == 1); }
  bm.clear_all();

  dev.set_replicator(&peer);
  // Replicator declines (not replicating now): the policy decides, as without one.
  peer.mode = Mode::Decline;
  { Io w(Op::Write, 8192, 4096); dev.execute(&w.req); CHECK(w.done.calls == 1 && w.done.err == 0); CHECK(bm.test(2)); }
  // Net part OK: no bits, even though a disconnected Primary would mark.
  peer.mode = Mode::AckNow;
  { Io w(Op::Write, 3 * 4096, 4096); dev.execute(&w.req); CHECK(w.done.err == 0); CHECK(!bm.test(3)); }
  // Net part failed (P_NEG_ACK, connection lost): the write succeeds locally, bits set
  // whatever markOutOfSync says.
  dev.set_policy(Policy(true, true, false));
  peer.mode = Mode::NackNow;
  { Io w(Op::Trim, 4 * 4096, 8192); dev.execute(&w.req); CHECK(w.done.err == 0); CHECK(bm.test(4) && bm.test(5)); }
  // Completion waits for the net part (protocol C: until P_WRITE_ACK).
  peer.mode = Mode::Defer;
  {
    Io w(Op::Write, 6 * 4096, 4096);
    dev.execute(&w.req);
    CHECK(w.done.calls == 0);
    CHECK(dev.counters().ap == 1);
    CHECK(peer.deferred.size() == 1);
    std::thread acker([&] { dev.net_done(peer.deferred[0], true); });
    acker.join();
    peer.deferred.clear();
    CHECK(w.done.calls == 1 && w.done.err == 0);
    CHECK(!bm.test(6));
    CHECK(dev.counters().ap == 0);
  }
  // Many concurrent writes with acks from another thread: each completes exactly once.
  {
    const int n = 64;
    std::vector<std::unique_ptr<Io>> ios;
    for (int i = 0; i < n; ++i) ios.push_back(std::make_unique<Io>(Op::Write, (i % 64) * 4096, 4096));
    std::mutex mu;
    std::vector<Request*> pending;
    class Racer : public Replicator {
     public:
      Racer(Device& d, std::mutex& m, std::vector<Request*>& p) : d_(d), m_(m), p_(p) {}
      bool submit_write(Request& r) override { std::lock_guard<std::mutex> lk(m_); p_.push_back(&r); return true; }
      bool submit_read(Request&) override { return false; }
      bool submit_flush(Request&) override { return false; }
      Device& d_; std::mutex& m_; std::vector<Request*>& p_;
    } racer(dev, mu, pending);
    dev.set_replicator(&racer);
    std::atomic<bool> stop{false};
    std::thread acker([&] {
      int acked = 0;
      while (acked < n) {
        Request* r = nullptr;
        { std::lock_guard<std::mutex> lk(mu); if (!pending.empty()) { r = pending.back(); pending.pop_back(); } }
        if (r) { dev.net_done(r, (acked % 2) == 0); ++acked; } else std::this_thread::yield();
      }
    });
    for (auto& io : ios) dev.submit(&io->req);  // through the device's I/O pool
    acker.join();
    for (int spin = 0; spin < 2000; ++spin) {
      bool all = true;
      for (auto& io : ios) all = all && io->done.calls == 1;
      if (all) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    int once = 0, ok = 0;
    for (auto& io : ios) { once += io->done.calls == 1; ok += io->done.err == 0; }
    CHECK(once == n);
    CHECK(ok == n);
    CHECK(dev.counters().ap == 0);
    dev.set_replicator(&peer);
  }
  // Diskless: reads come from the peer or fail; writes succeed only through the peer.
  dev.set_policy(Policy(true, false, false));
  peer.mode = Mode::AckNow;
  { Io r(Op::Read, 0, 4096); dev.execute(&r.req); CHECK(r.done.err == 0); CHECK(r.buf[0] == 0x5a && r.buf[4095] == 0x5a); }
  peer.mode = Mode::Decline;
  { Io r(Op::Read, 0, 4096); dev.execute(&r.req); CHECK(r.done.err == EIO); }
  peer.mode = Mode::AckNow;
  { Io w(Op::Write, 0, 4096); dev.execute(&w.req); CHECK(w.done.err == 0); }
  peer.mode = Mode::NackNow;
  { Io w(Op::Write, 0, 4096); dev.execute(&w.req); CHECK(w.done.err == EIO); }
  // Secondary: no writes, whatever the peer would do; reads stay local.
  dev.set_policy({false, false, true, false});
  peer.mode = Mode::AckNow;
  int writes_before = peer.writes;
  { Io w(Op::Write, 0, 4096); dev.execute(&w.req); CHECK(w.done.err == EPERM); }
  CHECK(peer.writes == writes_before);
  { Io r(Op::Read, 0, 4096); dev.execute(&r.req); CHECK(r.done.err == 0); }
  CHECK(peer.reads == 2);
  dev.set_replicator(nullptr);

  std::printf("%d passed, %d failed\n", checks - failures, failures);
  return failures ? 1 : 0;
}
