#include "device_peer_host.h"

namespace udrbd {

namespace {

// One request for the peer, owning its buffer and its continuation; freed on completion.
struct PeerRequest {
  Request req;
  DataBuffer data;
  std::function<void(int err, DataBuffer& data)> done;

  static void Complete(Request* r, int err) {
    auto* self = static_cast<PeerRequest*>(r->owner);
    self->done(err, self->data);
    delete self;
  }
};

void Submit(Device& dev, Op op, uint32_t flags, uint64_t offset, uint64_t len, DataBuffer data,
            std::function<void(int, DataBuffer&)> done) {
  auto* p = new PeerRequest();
  p->data = std::move(data);
  p->done = std::move(done);
  p->req.op = op;
  p->req.flags = flags | kReqFromPeer;
  p->req.offset = offset;
  p->req.len = len;
  p->req.data = reinterpret_cast<char*>(p->data.data());
  p->req.complete = &PeerRequest::Complete;
  p->req.owner = p;
  dev.submit(&p->req);
}

}  // namespace

void DevicePeerHost::PeerWrite(uint64_t offset, DataBuffer data, bool fua, bool flush,
                               std::function<void(int err)> done) {
  const uint64_t len = data.size();
  auto write = [this, offset, len, fua, d = std::move(data), done = std::move(done)](int err) mutable {
    if (err) {
      done(err);
      return;
    }
    Submit(*device_, Op::Write, fua ? kReqFua : 0, offset, len, std::move(d),
           [done = std::move(done)](int e, DataBuffer&) { done(e); });
  };
  // DP_FLUSH: earlier writes must be stable before this one lands.
  if (flush) {
    PeerFlush(std::move(write));
  } else {
    write(0);
  }
}

void DevicePeerHost::PeerZero(uint64_t offset, uint64_t len, std::function<void(int err)> done) {
  Submit(*device_, Op::Zeroes, 0, offset, len, {}, [done = std::move(done)](int e, DataBuffer&) { done(e); });
}

void DevicePeerHost::PeerRead(uint64_t offset, uint32_t len,
                              std::function<void(int err, DataBuffer data)> done) {
  Submit(*device_, Op::Read, 0, offset, len, DataBuffer(len),
         [done = std::move(done)](int e, DataBuffer& d) { done(e, std::move(d)); });
}

void DevicePeerHost::PeerFlush(std::function<void(int err)> done) {
  Submit(*device_, Op::Flush, 0, 0, 0, {}, [done = std::move(done)](int e, DataBuffer&) { done(e); });
}

void DevicePeerHost::MarkOutOfSync(uint64_t offset, uint64_t len) { device_->bitmap().set_range(offset, len); }

}  // namespace udrbd
