#include "nbd_connection.h"

#include <endian.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "device.h"
#include "nbd_protocol.h"
#include "nbd_server.h"

namespace udrbd {

using namespace nbd;

namespace {

constexpr size_t kReadBuffer = 256 * 1024;
// Slot buffers larger than this are not kept after use, so one odd huge request does not pin
// its memory for the life of the connection.
constexpr size_t kKeepBuffer = 4u << 20;
// Payload bytes one client may have in flight (buffers held by its queued requests).
constexpr size_t kMaxInflightBytes = 64u << 20;

uint32_t ToNbdError(int err) {
  switch (err) {
    case 0: return 0;
    case EPERM: case EROFS: return kEPerm;
    case ENOMEM: return kENoMem;
    case EINVAL: return kEInval;
    case ENOSPC: case EFBIG: case EDQUOT: return kENoSpc;
    case EOVERFLOW: return kEOverflow;
    case ENOTSUP: return kENotSup;
    case ESHUTDOWN: return kEShutdown;
    default: return kEIO;
  }
}

uint16_t Be16(const unsigned char* p) { uint16_t v; std::memcpy(&v, p, 2); return be16toh(v); }
uint32_t Be32(const unsigned char* p) { uint32_t v; std::memcpy(&v, p, 4); return be32toh(v); }
uint64_t Be64(const unsigned char* p) { uint64_t v; std::memcpy(&v, p, 8); return be64toh(v); }
void Put16(std::string& s, uint16_t v) { v = htobe16(v); s.append(reinterpret_cast<char*>(&v), 2); }
void Put32(std::string& s, uint32_t v) { v = htobe32(v); s.append(reinterpret_cast<char*>(&v), 4); }
void Put64(std::string& s, uint64_t v) { v = htobe64(v); s.append(reinterpret_cast<char*>(&v), 8); }

}  // namespace

struct NbdConnection::Slot {
  Request req;  // req.owner points back at this slot
  NbdConnection* conn = nullptr;
  std::unique_ptr<char[]> buf;
  size_t cap = 0;
  uint64_t handle = 0;  // as received: echoed byte for byte
  size_t bytes = 0;     // payload bytes this slot holds against the in-flight budget
};

NbdConnection::NbdConnection(NbdServer& server, int fd, uint64_t id)
    : server_(server), fd_(fd), id_(id), rbuf_(new char[kReadBuffer]) {}

NbdConnection::~NbdConnection() {
  join();
  if (fd_ >= 0) ::close(fd_);
}

void NbdConnection::start() { main_ = std::thread([this] { run(); }); }

void NbdConnection::join() {
  if (main_.joinable()) main_.join();
}

void NbdConnection::shutdown() {
  closing_.store(true, std::memory_order_release);
  {
    std::lock_guard<std::mutex> lk(reason_mu_);
    if (close_reason_.empty()) close_reason_ = "server shutting down";
    if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
  }
  wake_all_workers();
}

void NbdConnection::close_with(const std::string& reason, bool protocol_error) {
  bool first;
  {
    std::lock_guard<std::mutex> lk(reason_mu_);
    first = close_reason_.empty();
    if (first) close_reason_ = reason;
    // Only the receive side: replies of requests still in flight can go out.
    if (fd_ >= 0) ::shutdown(fd_, SHUT_RD);
  }
  closing_.store(true, std::memory_order_release);
  wake_all_workers();
  if (first && protocol_error && server_.events()) {
    server_.events()->emit({"nbdError", id_, EINVAL, 0, 0, reason});
  }
}

void NbdConnection::run() {
  if (handshake()) {
    if (auto* ev = server_.events()) ev->emit({"clientConnected", id_, 0, 0, 0, ""});
    unsigned n = std::max(1u, server_.config().workers_per_conn);
    std::vector<std::thread> extra;
    for (unsigned i = 1; i < n; ++i) {
      try {
        extra.emplace_back([this] { worker(); });
      } catch (const std::system_error&) {
        break;  // out of threads: serve this client with fewer workers rather than not at all
      }
    }
    worker();
    for (auto& t : extra) t.join();
    // Requests handed to the device's pool or to a replicator complete later: wait for them,
    // their completion touches this object.
    {
      std::unique_lock<std::mutex> lk(slot_mu_);
      slot_cv_.wait(lk, [this] { return inflight_ == 0; });
    }
    std::string reason;
    {
      std::lock_guard<std::mutex> lk(reason_mu_);
      reason = close_reason_;
    }
    if (auto* ev = server_.events()) ev->emit({"clientDisconnected", id_, 0, 0, 0, reason});
  }
  {
    std::lock_guard<std::mutex> lk(reason_mu_);
    ::close(fd_);
    fd_ = -1;
  }
  finished_.store(true, std::memory_order_release);
}

// ---- socket I/O

bool NbdConnection::read_exact(void* dst, size_t n) {
  char* d = static_cast<char*>(dst);
  size_t avail = rlen_ - rpos_;
  if (avail) {
    size_t k = std::min(avail, n);
    std::memcpy(d, rbuf_.get() + rpos_, k);
    rpos_ += k;
    d += k;
    n -= k;
  }
  while (n > 0) {
    if (n >= kReadBuffer / 2) {
      // Large payloads go straight into the request buffer: one copy, not two.
      ssize_t got = ::recv(fd_, d, n, MSG_WAITALL);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) return false;
      d += got;
      n -= static_cast<size_t>(got);
      continue;
    }
    ssize_t got = ::recv(fd_, rbuf_.get(), kReadBuffer, 0);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;
    size_t k = std::min(n, static_cast<size_t>(got));
    std::memcpy(d, rbuf_.get(), k);
    rpos_ = k;
    rlen_ = static_cast<size_t>(got);
    d += k;
    n -= k;
  }
  return true;
}

bool NbdConnection::send_all(struct iovec* iov, int iovcnt) {
  while (iovcnt > 0) {
    struct msghdr msg = {};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<size_t>(iovcnt);
    ssize_t n = ::sendmsg(fd_, &msg, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    size_t left = static_cast<size_t>(n);
    while (iovcnt > 0 && left >= iov->iov_len) {
      left -= iov->iov_len;
      ++iov;
      --iovcnt;
    }
    if (iovcnt > 0) {
      iov->iov_base = static_cast<char*>(iov->iov_base) + left;
      iov->iov_len -= left;
    }
  }
  return true;
}

// ---- handshake (newstyle fixed)

bool NbdConnection::name_ok(const std::string& name) const {
  return name.empty() || name == server_.config().export_name;
}

uint16_t NbdConnection::transmission_flags() const {
  // CAN_MULTI_CONN: every connection shares one backing file, so a flush on any of them makes
  // the completed writes of all of them durable.
  uint16_t f = kTxHasFlags | kTxSendFlush | kTxCanMultiConn;
  if (server_.device().writes_allowed()) {
    f |= kTxSendFua | kTxSendTrim | kTxSendWriteZeroes;
  } else {
    f |= kTxReadOnly;
  }
  return f;
}

bool NbdConnection::send_option_reply(uint32_t opt, uint32_t type, const void* data, uint32_t len) {
  std::string h;
  Put64(h, kOptReplyMagic);
  Put32(h, opt);
  Put32(h, type);
  Put32(h, len);
  struct iovec iov[2] = {{h.data(), h.size()}, {const_cast<void*>(data), len}};
  return send_all(iov, len ? 2 : 1);
}

bool NbdConnection::handshake() {
  std::string hello;
  Put64(hello, kNbdMagic);
  Put64(hello, kOptMagic);
  Put16(hello, kFlagFixedNewstyle | kFlagNoZeroes);
  struct iovec iov = {hello.data(), hello.size()};
  if (!send_all(&iov, 1)) return false;

  unsigned char cf[4];
  if (!read_exact(cf, 4)) return false;
  uint32_t client_flags = Be32(cf);
  if (client_flags & ~(kClientFixedNewstyle | kClientNoZeroes)) return false;
  bool no_zeroes = client_flags & kClientNoZeroes;

  while (true) {
    unsigned char oh[16];
    if (!read_exact(oh, 16)) return false;
    if (Be64(oh) != kOptMagic) return false;
    uint32_t opt = Be32(oh + 8);
    uint32_t len = Be32(oh + 12);
    if (len > kMaxOptionBytes) return false;  // no real option is that long
    std::string data(len, '\0');
    if (len && !read_exact(data.data(), len)) return false;

    if (opt == kOptExportName) {
      if (!name_ok(data)) return false;  // this option has no way to report an error
      std::string r;
      Put64(r, server_.device().usable_bytes());
      Put16(r, transmission_flags());
      if (!no_zeroes) r.append(124, '\0');
      struct iovec v = {r.data(), r.size()};
      return send_all(&v, 1);
    }
    bool go = false;
    if (!handle_option(opt, data, &go)) return false;
    if (go) return true;
  }
}

bool NbdConnection::handle_option(uint32_t opt, const std::string& data, bool* go) {
  auto* p = reinterpret_cast<const unsigned char*>(data.data());
  switch (opt) {
    case kOptAbort:
      send_option_reply(opt, kRepAck, nullptr, 0);
      return false;
    case kOptList: {
      if (!data.empty()) return send_option_reply(opt, kRepErrInvalid, nullptr, 0);
      std::string r;
      const std::string& name = server_.config().export_name;
      Put32(r, static_cast<uint32_t>(name.size()));
      r += name;
      return send_option_reply(opt, kRepServer, r.data(), static_cast<uint32_t>(r.size())) &&
             send_option_reply(opt, kRepAck, nullptr, 0);
    }
    case kOptInfo:
    case kOptGo: {
      // u32 name length, name, u16 number of info requests, u16 each.
      if (data.size() < 6) return send_option_reply(opt, kRepErrInvalid, nullptr, 0);
      uint32_t nlen = Be32(p);
      if (nlen > data.size() - 6) return send_option_reply(opt, kRepErrInvalid, nullptr, 0);
      uint16_t nreq = Be16(p + 4 + nlen);
      if (data.size() != 4 + nlen + 2 + 2u * nreq) return send_option_reply(opt, kRepErrInvalid, nullptr, 0);
      if (!name_ok(data.substr(4, nlen))) return send_option_reply(opt, kRepErrUnknown, nullptr, 0);
      bool want_block_size = false;
      for (uint16_t i = 0; i < nreq; ++i) want_block_size |= Be16(p + 6 + nlen + 2 * i) == kInfoBlockSize;
      std::string info;
      Put16(info, kInfoExport);
      Put64(info, server_.device().usable_bytes());
      Put16(info, transmission_flags());
      if (!send_option_reply(opt, kRepInfo, info.data(), static_cast<uint32_t>(info.size()))) return false;
      if (want_block_size) {
        std::string bs;
        Put16(bs, kInfoBlockSize);
        Put32(bs, 1);        // minimum: any byte granularity works (pread/pwrite)
        Put32(bs, 4096);     // preferred: the bitmap granularity
        Put32(bs, kMaxPayload);
        if (!send_option_reply(opt, kRepInfo, bs.data(), static_cast<uint32_t>(bs.size()))) return false;
      }
      if (!send_option_reply(opt, kRepAck, nullptr, 0)) return false;
      *go = opt == kOptGo;
      return true;
    }
    case kOptStartTls:
      return send_option_reply(opt, kRepErrPolicy, nullptr, 0);
    default:
      // Structured replies, meta contexts, ...: not offered; the client falls back.
      return send_option_reply(opt, kRepErrUnsup, nullptr, 0);
  }
}

// ---- transmission

NbdConnection::Slot* NbdConnection::get_slot(size_t payload) {
  const unsigned max_inflight = std::max(1u, server_.config().max_inflight);
  std::unique_lock<std::mutex> lk(slot_mu_);
  // Bounded by count and by payload bytes (32 MiB reads could otherwise pin gigabytes);
  // one request is always admitted so that any legal size makes progress.
  slot_cv_.wait(lk, [&] {
    return closing_.load(std::memory_order_acquire) ||
           (inflight_ < max_inflight && (inflight_ == 0 || inflight_bytes_ + payload <= kMaxInflightBytes));
  });
  if (closing_.load(std::memory_order_acquire)) return nullptr;
  Slot* s;
  if (!free_.empty()) {
    s = free_.back();
    free_.pop_back();
  } else {
    all_.push_back(std::make_unique<Slot>());
    s = all_.back().get();
    s->conn = this;
    s->req.owner = s;
  }
  ++inflight_;
  inflight_bytes_ += payload;
  s->bytes = payload;
  lk.unlock();
  if (s->cap < payload) {
    // Round up to a power of two so a client's mixed sizes settle on few reallocations.
    size_t cap = 64 * 1024;
    while (cap < payload) cap <<= 1;
    s->buf.reset(new char[cap]);
    s->cap = cap;
  }
  return s;
}

void NbdConnection::put_slot(Slot* s) {
  if (s->cap > kKeepBuffer) {
    s->buf.reset();
    s->cap = 0;
  }
  std::lock_guard<std::mutex> lk(slot_mu_);
  free_.push_back(s);
  --inflight_;
  inflight_bytes_ -= s->bytes;
  slot_cv_.notify_all();
}

void NbdConnection::reply(Slot* s, uint32_t err, bool with_data) {
  struct {
    uint32_t magic, error;
    uint64_t handle;
  } __attribute__((packed)) h = {htobe32(kSimpleReplyMagic), htobe32(err), s->handle};
  struct iovec iov[2] = {{&h, sizeof(h)}, {s->buf.get(), static_cast<size_t>(s->req.len)}};
  bool ok;
  {
    std::lock_guard<std::mutex> lk(write_mu_);
    ok = send_all(iov, with_data ? 2 : 1);
  }
  if (!ok) close_with("cannot send reply: client gone", false);
  put_slot(s);
}

void NbdConnection::on_complete(Request* r, int err) {
  auto* s = static_cast<Slot*>(r->owner);
  s->conn->reply(s, ToNbdError(err), err == 0 && r->op == Op::Read);
}

void NbdConnection::release_reader() {
  {
    std::lock_guard<std::mutex> lk(reader_mu_);
    reader_busy_ = false;
  }
  reader_cv_.notify_one();
}

void NbdConnection::wake_all_workers() {
  { std::lock_guard<std::mutex> lk(reader_mu_); }  // no waiter can miss closing_ now
  reader_cv_.notify_all();
  slot_cv_.notify_all();
}

void NbdConnection::worker() {
  Device& dev = server_.device();
  const bool use_pool = server_.config().device_pool;
  // Workers take turns as the socket's reader: one reads a request, hands the role on, then
  // runs the request and sends its reply while the next worker reads.
  bool reader = false;
  while (true) {
    if (!reader) {
      std::unique_lock<std::mutex> lk(reader_mu_);
      reader_cv_.wait(lk, [this] { return !reader_busy_ || closing_.load(std::memory_order_acquire); });
      if (closing_.load(std::memory_order_acquire)) break;
      reader_busy_ = true;
      reader = true;
    }
    if (closing_.load(std::memory_order_acquire)) break;
    unsigned char h[kRequestBytes];
    if (!read_exact(h, sizeof(h))) {
      close_with("client disconnected", false);
      break;
    }
    uint32_t magic = Be32(h);
    uint16_t flags = Be16(h + 4);
    uint16_t type = Be16(h + 6);
    uint64_t handle;
    std::memcpy(&handle, h + 8, 8);
    uint64_t offset = Be64(h + 16);
    uint32_t len = Be32(h + 24);
    if (magic != kRequestMagic) {
      // The stream cannot be resynchronised after garbage: drop the client.
      close_with("bad request magic", true);
      break;
    }
    if (type == kCmdDisc) {
      close_with("client sent NBD_CMD_DISC", false);
      break;
    }
    if (type == kCmdWrite && len > kMaxPayload) {
      // Skipping up to 4 GiB of payload is no service to anyone: drop the client.
      close_with("write of " + std::to_string(len) + " bytes exceeds the 32 MiB limit", true);
      break;
    }
    bool sized = (type == kCmdRead || type == kCmdWrite) && len <= kMaxPayload;
    Slot* s = get_slot(sized ? len : 0);
    if (!s) break;
    s->handle = handle;
    if (type == kCmdWrite && !read_exact(s->buf.get(), len)) {
      put_slot(s);
      close_with("client disconnected during a write payload", false);
      break;
    }
    // Pass the reader role on before running the request, also when nothing else is waiting
    // yet. Keeping it at queue depth 1 (one thread reads, runs and answers everything) saves a
    // wake-up per request on an idle machine, but measured worse under CPU contention: a
    // thread that never sleeps long loses wake-up preemption to busy neighbours and the p99
    // latency went from ~0.1 to ~1-2 ms (test/bench/nbd-local.bench.test.ts, load ~10 on 2 cores).
    release_reader();
    reader = false;

    Request& r = s->req;
    r.offset = offset;
    r.len = len;
    r.data = s->buf.get();
    r.complete = &NbdConnection::on_complete;
    r.flags = (flags & kCmdFlagFua ? kReqFua : 0) | (flags & kCmdFlagNoHole ? kReqNoHole : 0);
    uint32_t err = 0;
    switch (type) {
      case kCmdRead: r.op = Op::Read; if (len > kMaxPayload) err = kEInval; break;
      case kCmdWrite: r.op = Op::Write; break;
      case kCmdFlush: r.op = Op::Flush; break;
      case kCmdTrim: r.op = Op::Trim; break;
      case kCmdWriteZeroes: r.op = Op::Zeroes; break;
      default: err = kEInval;  // unknown command (assumed to carry no payload)
    }
    if (flags & ~(kCmdFlagFua | kCmdFlagNoHole)) err = kEInval;
    if (err) {
      r.len = 0;
      reply(s, err, false);
      continue;
    }
    if (use_pool) {
      dev.submit(&r);
    } else {
      dev.execute(&r);
    }
  }
  if (reader) release_reader();
}

}  // namespace udrbd
