// One block request travelling through a Device: from the frontend (NBD), later also from the
// peer link and the resync worker. The submitter owns the object and its data buffer and keeps
// both alive until `complete` is called; nothing here allocates, so a frontend can pool them.
#pragma once
#include <atomic>
#include <cstdint>

namespace udrbd {

enum class Op : uint8_t { Read, Write, Flush, Trim, Zeroes };

// Request flags (the NBD command flags the device acts on).
constexpr uint32_t kReqFua = 1u << 0;     // the data is on stable storage before completion
constexpr uint32_t kReqNoHole = 1u << 1;  // Zeroes must allocate, not punch a hole
// The peer's write (or a read for the peer): local I/O only. A Secondary takes it although
// its application policy is read-only, it is never offered back to the peer, it leaves the
// bitmap alone and bypasses the activity log (spec/resync.md §2: "Secondary receiving
// replicated writes: no bitmap change").
constexpr uint32_t kReqFromPeer = 1u << 2;

inline bool IsWriteOp(Op op) { return op == Op::Write || op == Op::Trim || op == Op::Zeroes; }

struct Request;
// Called exactly once per submitted request, on whichever native thread finished its last part
// (local I/O thread, or a peer-link thread once replication exists). ERR is 0 or an errno.
using CompletionFn = void (*)(Request* req, int err);

struct Request {
  // Filled by the submitter.
  Op op = Op::Read;
  uint32_t flags = 0;
  uint64_t offset = 0;  // bytes, within the usable data area
  uint64_t len = 0;     // bytes
  char* data = nullptr; // Write: the payload; Read: where the data goes (>= len bytes)
  CompletionFn complete = nullptr;
  void* owner = nullptr;  // submitter's context (the NBD connection)
  uint64_t cookie = 0;    // submitter's tag (the NBD handle)
  Request* next = nullptr;  // intrusive link: I/O queue inside the device, free list outside

  // Device-private completion state (see Device::execute).
  std::atomic<int> parts_left{0};
  std::atomic<bool> net_ok{false};
  bool replicated = false;
  int local_err = 0;
};

}  // namespace udrbd
