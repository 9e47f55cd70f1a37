// The Device as the peer link's host: the peer's writes, reads and flushes run through the
// device's request path as local-only requests (kReqFromPeer) on its I/O pool, so the
// link's receiver thread never blocks on the disk.
#pragma once
#include <memory>

#include "device.h"
#include "peer_link.h"

namespace udrbd {

class DevicePeerHost : public PeerLinkHost {
 public:
  explicit DevicePeerHost(std::shared_ptr<Device> device) : device_(std::move(device)) {}

  void PeerWrite(uint64_t offset, DataBuffer data, bool fua, bool flush,
                 std::function<void(int err)> done) override;
  void PeerZero(uint64_t offset, uint64_t len, std::function<void(int err)> done) override;
  void PeerRead(uint64_t offset, uint32_t len, std::function<void(int err, DataBuffer data)> done) override;
  void PeerFlush(std::function<void(int err)> done) override;
  void MarkOutOfSync(uint64_t offset, uint64_t len) override;
  uint64_t SizeBytes() const override { return device_->usable_bytes(); }
  Bitmap& OutOfSync() override { return device_->bitmap(); }
  void NetDone(Request* req, bool ok) override { device_->net_done(req, ok); }

  Device& device() { return *device_; }

 private:
  std::shared_ptr<Device> device_;
};

}  // namespace udrbd
