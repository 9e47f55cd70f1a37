#include "peer_link.h"

#include <cstdio>
#include <cstring>
#include <random>

#include "bitmap.h"
#include "wire.h"

namespace udrbd {

using Clock = std::chrono::steady_clock;
namespace w = wire;

// The packets the control plane decides on (src/protocol owns their payloads); the link only
// carries them, in order.
static bool IsControlPacket(uint16_t cmd) {
  switch (cmd) {
    case w::P_PROTOCOL:
    case w::P_PROTOCOL_UPDATE:
    case w::P_SYNC_PARAM89:
    case w::P_SIZES:
    case w::P_UUIDS:
    case w::P_STATE:
    case w::P_SYNC_UUID:
    case w::P_STATE_CHG_REQ:
    case w::P_CONN_ST_CHG_REQ:
      return true;
    default:
      return false;
  }
}

static std::string Hex4(uint16_t v) {
  char b[8];
  std::snprintf(b, sizeof(b), "%04x", v);
  return b;
}

static int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch()).count();
}

const char* LinkLossName(LinkLoss l) {
  switch (l) {
    case LinkLoss::kNetworkFailure: return "NetworkFailure";
    case LinkLoss::kBrokenPipe: return "BrokenPipe";
    case LinkLoss::kTimeout: return "Timeout";
    case LinkLoss::kProtocolError: return "ProtocolError";
    case LinkLoss::kTearDown: return "TearDown";
  }
  return "NetworkFailure";
}

// Protocol versions udrbd speaks: only the h100 framing (agreed >= 100), so the legacy h80/h95
// traffic rules and old P_SYNC_PARAM forms are never needed (spec/wire-protocol-84.md §6.2).
static constexpr uint32_t kProtocolMin = 100;
static constexpr uint32_t kProtocolMax = 101;
static constexpr uint32_t kMaxControlPayload = 4096;
static constexpr int kH80 = 80;  // framing before the feature exchange

PeerLink::PeerLink(PeerLinkHost* host, PeerLinkEvents* events)
    : host_(host), events_(events), resync_(std::make_unique<Resync>(&host->OutOfSync(), host->SizeBytes())) {}

PeerLink::~PeerLink() { Stop(); }

void PeerLink::Start(const NetSettings& s) {
  Stop();
  settings_ = s;
  stopping_ = false;
  {
    std::lock_guard<std::mutex> l(work_mu_);
    sender_stop_ = false;
  }
  sender_thread_ = std::thread([this] { SenderLoop(); });
  thread_ = std::thread([this] { Run(); });
}

void PeerLink::Stop() {
  if (!thread_.joinable()) return;
  stopping_ = true;
  listener_.Wake();
  Fail(LinkLoss::kTearDown);
  {
    std::lock_guard<std::mutex> l(control_mu_);
    control_busy_ = false;
  }
  control_cv_.notify_all();
  thread_.join();
  {
    std::lock_guard<std::mutex> l(work_mu_);
    sender_stop_ = true;
  }
  work_cv_.notify_all();
  if (sender_thread_.joinable()) sender_thread_.join();
}

void PeerLink::DropConnection(LinkLoss why) { Fail(why); }

void PeerLink::ResumeReceive() {
  {
    std::lock_guard<std::mutex> l(control_mu_);
    control_busy_ = false;
  }
  control_cv_.notify_all();
}

void PeerLink::Fail(LinkLoss why) {
  bool expected = false;
  if (failed_.compare_exchange_strong(expected, true)) fail_reason_ = why;
  std::lock_guard<std::mutex> l(sock_mu_);
  data_.Shutdown();
  meta_.Shutdown();
  recv_cv_.notify_all();
  control_cv_.notify_all();
}

void PeerLink::ProtocolError(const std::string& what) {
  Log(50, what);
  Fail(LinkLoss::kProtocolError);
}

bool PeerLink::RecvData(void* buf, size_t n) {
  if (n == 0 || data_.RecvExact(buf, n, -1) == IoResult::kOk) return true;
  Fail(LinkLoss::kBrokenPipe);
  return false;
}

void PeerLink::Post(std::function<void()> work) {
  {
    std::lock_guard<std::mutex> l(work_mu_);
    work_.push_back(std::move(work));
  }
  work_cv_.notify_one();
}

void PeerLink::SenderLoop() {
  for (;;) {
    std::function<void()> w;
    {
      std::unique_lock<std::mutex> l(work_mu_);
      work_cv_.wait(l, [this] { return sender_stop_ || !work_.empty(); });
      if (work_.empty()) return;
      w = std::move(work_.front());
      work_.pop_front();
    }
    w();
  }
}

void PeerLink::HostOpEnd() {
  if (--host_ops_ == 0) {
    std::lock_guard<std::mutex> l(host_ops_mu_);
    host_ops_cv_.notify_all();
  }
}

// ---------------------------------------------------------------- connection loop

void PeerLink::Run() {
  while (!stopping_) {
    events_->OnConnecting();
    try {
      listener_.Listen(settings_.local);
    } catch (const std::exception& e) {
      // Our address is not (yet) configured here, or still in use: DRBD keeps retrying.
      Log(50, e.what());
      std::this_thread::sleep_for(std::chrono::milliseconds(settings_.connect_int_ms));
      continue;
    }
    TcpSocket data, meta;
    bool resolve_conflicts = false;
    bool ok = Establish(&data, &meta, &resolve_conflicts);
    listener_.Close();
    if (!ok) continue;

    for (TcpSocket* s : {&data, &meta}) {
      s->SetNoDelay();
      s->SetBufferSizes(settings_.sndbuf_size, settings_.rcvbuf_size);
    }
    int agreed = 0;
    uint32_t features = 0;
    std::string fatal;
    bool ok_features = ExchangeFeatures(data, &agreed, &features, &fatal);
    if (ok_features) agreed_ = agreed;  // frames everything from here on, auth included
    if (!ok_features || (!settings_.cram_hmac_alg.empty() && !Authenticate(data, &fatal))) {
      if (!fatal.empty()) {
        Log(50, fatal);
        events_->OnFatal(fatal);
        return;
      }
      continue;  // an I/O error during the handshake: try the whole connect again
    }
    {
      std::lock_guard<std::mutex> l(sock_mu_);
      data_ = std::move(data);
      meta_ = std::move(meta);
    }
    failed_ = false;
    seq_ = 0;
    last_rx_ms_ = NowMs();
    ping_pending_ = false;
    {
      std::lock_guard<std::mutex> l(recv_mu_);
      recv_epochs_.clear();
      recv_epochs_.push_back(std::make_shared<RecvEpoch>());
    }
    bitmap_rx_.reset();
    conn_gen_++;
    connected_ = true;
    events_->OnConnected(agreed, features, resolve_conflicts);
    meta_thread_ = std::thread([this] { MetaReceiver(); });
    LinkLoss why = DataReceiver();
    Teardown(why);
  }
}

bool PeerLink::Establish(TcpSocket* data, TcpSocket* meta, bool* resolve_conflicts) {
  std::mt19937 rng(std::random_device{}());
  bool skip_connect = false;
  while (!stopping_) {
    if (!skip_connect) {
      int err = 0;
      TcpSocket s = TcpSocket::Connect(settings_.peer, settings_.local, settings_.connect_int_ms, &err);
      if (s.valid()) {
        if (!data->valid()) {
          auto pkt = w::EncodeHeader(kH80, w::Header{w::P_INITIAL_DATA, 0, 0});
          if (s.SendAll(pkt.data(), pkt.size(), settings_.ping_timeout_ms * 4) == IoResult::kOk) *data = std::move(s);
        } else if (!meta->valid()) {
          auto pkt = w::EncodeHeader(kH80, w::Header{w::P_INITIAL_META, 0, 0});
          if (s.SendAll(pkt.data(), pkt.size(), settings_.ping_timeout_ms * 4) == IoResult::kOk) {
            *meta = std::move(s);
            *resolve_conflicts = false;  // we connected the meta socket
          }
        }
      }
    }
    skip_connect = false;
    if (data->valid() && meta->valid()) {
      // Both exist: give a crossed connection time to show up, then check both are alive.
      std::this_thread::sleep_for(std::chrono::milliseconds(settings_.ping_timeout_ms));
      bool d = data->StillOpen(), m = meta->StillOpen();
      if (d && m) return true;
      if (!d) data->Close();
      if (!m) meta->Close();
      continue;
    }
    // Wait for the peer to connect to us: connect-int with +-1/7 jitter, so two nodes that
    // keep crossing eventually fall out of step.
    int base = settings_.connect_int_ms;
    int jitter = base / 7;
    int wait = base + (jitter > 0 ? static_cast<int>(rng() % (2 * jitter + 1)) - jitter : 0);
    if (data->valid() || meta->valid()) wait = settings_.ping_timeout_ms * 4;
    TcpSocket s = listener_.Accept(wait);
    if (!s.valid()) continue;
    uint8_t hdr[w::kH80Size];
    if (s.RecvExact(hdr, sizeof(hdr), settings_.ping_timeout_ms * 4) != IoResult::kOk) continue;
    w::Header h;
    try {
      h = w::DecodeHeader(kH80, hdr, sizeof(hdr));
    } catch (const w::WireError&) {
      h.command = 0;
    }
    if (h.length != 0) h.command = 0;
    if (h.command == w::P_INITIAL_DATA) {
      if (data->valid()) {
        Log(40, "initial packet S crossed");
        skip_connect = (rng() & 1) != 0;
      }
      *data = std::move(s);
    } else if (h.command == w::P_INITIAL_META) {
      if (meta->valid()) {
        Log(40, "initial packet M crossed");
        skip_connect = (rng() & 1) != 0;
      }
      *meta = std::move(s);
      *resolve_conflicts = true;  // we accepted the meta socket: we break ties
    } else {
      Log(40, "Error receiving initial packet");
    }
  }
  return false;
}

bool PeerLink::ExchangeFeatures(TcpSocket& data, int* agreed, uint32_t* features, std::string* fatal) {
  const int t = settings_.ping_timeout_ms * 4;
  // udrbd speaks only the h100 framing (agreed >= 100), advertises no optional feature, so
  // the legacy h80/h95 rules, P_SIZES with queue limits and thin resync never apply.
  const w::Features mine{kProtocolMin, 0, kProtocolMax};
  uint8_t out[w::kH80Size + w::kFeaturesSize];
  w::EncodeHeader(kH80, w::Header{w::P_CONNECTION_FEATURES, 0, w::kFeaturesSize}, out);
  w::EncodeFeatures(mine, out + w::kH80Size);
  if (data.SendAll(out, sizeof(out), t) != IoResult::kOk) return false;
  uint8_t in[w::kH80Size + w::kFeaturesSize];
  if (data.RecvExact(in, w::kH80Size, t) != IoResult::kOk) return false;
  w::Header h;
  try {
    h = w::DecodeHeader(kH80, in, w::kH80Size);
  } catch (const w::WireError&) {
    h.command = 0;
  }
  if (h.command != w::P_CONNECTION_FEATURES || h.length != w::kFeaturesSize) {
    *fatal = std::string("expected ConnectionFeatures packet, received: ") + w::CommandName(h.command) + " (0x" +
             Hex4(h.command) + ")";
    return false;
  }
  if (data.RecvExact(in + w::kH80Size, w::kFeaturesSize, t) != IoResult::kOk) return false;
  try {
    w::Agreement a = w::Negotiate(mine, w::DecodeFeatures(in + w::kH80Size, w::kFeaturesSize));
    *agreed = a.version;
    *features = a.features;
  } catch (const w::WireError& e) {
    *fatal = e.what();
    return false;
  }
  Log(30, "Handshake successful: Agreed network protocol version " + std::to_string(*agreed));
  return true;
}

bool PeerLink::Authenticate(TcpSocket& data, std::string* fatal) {
  const int t = settings_.ping_timeout_ms * 4;
  const std::string& alg = settings_.cram_hmac_alg;
  const std::string& secret = settings_.shared_secret;
  try {
    std::vector<uint8_t> mine = w::MakeChallenge();
    if (!SendLocked(data, w::P_AUTH_CHALLENGE, mine.data(), mine.size(), nullptr, 0)) return false;
    uint8_t hdr[w::kH100Size];
    if (data.RecvExact(hdr, sizeof(hdr), t) != IoResult::kOk) return false;
    w::Header h = w::DecodeHeader(agreed_, hdr, sizeof(hdr));
    if (h.command != w::P_AUTH_CHALLENGE || h.length > w::kMaxChallengeSize) {
      Log(50, "Authentication of peer failed, trying again.");
      return false;
    }
    std::vector<uint8_t> peer_challenge(h.length);
    if (data.RecvExact(peer_challenge.data(), h.length, t) != IoResult::kOk) return false;
    w::CheckPeerChallenge(peer_challenge.data(), peer_challenge.size(), mine);
    std::vector<uint8_t> response = w::AuthResponse(alg, secret, peer_challenge.data(), peer_challenge.size());
    if (!SendLocked(data, w::P_AUTH_RESPONSE, response.data(), response.size(), nullptr, 0)) return false;
    // A peer that rejected our response just closes the connection (8.4 has no failure packet).
    if (data.RecvExact(hdr, sizeof(hdr), t) != IoResult::kOk) {
      *fatal = "Authentication of peer failed";
      return false;
    }
    h = w::DecodeHeader(agreed_, hdr, sizeof(hdr));
    if (h.command != w::P_AUTH_RESPONSE || h.length > 256) {
      *fatal = "Authentication of peer failed";
      return false;
    }
    std::vector<uint8_t> peer_response(h.length);
    if (data.RecvExact(peer_response.data(), h.length, t) != IoResult::kOk) return false;
    if (!w::VerifyAuthResponse(alg, secret, mine, peer_response.data(), peer_response.size())) {
      *fatal = "Authentication of peer failed";
      return false;
    }
    Log(30, "Peer authenticated using " + std::to_string(response.size()) + " bytes HMAC");
    return true;
  } catch (const w::WireError& e) {
    // Same challenge twice, a response of the wrong size, an unknown algorithm: no retry.
    *fatal = e.what();
    return false;
  }
}

// ---------------------------------------------------------------- sending

bool PeerLink::SendPacket(TcpSocket& sock, std::mutex& mu, uint16_t cmd, const void* p1, size_t n1, const void* p2,
                          size_t n2) {
  std::lock_guard<std::mutex> l(mu);
  return SendLocked(sock, cmd, p1, n1, p2, n2);
}

bool PeerLink::SendLocked(TcpSocket& sock, uint16_t cmd, const void* p1, size_t n1, const void* p2, size_t n2) {
  if (!sock.valid()) return false;
  uint8_t hdr[w::kH100Size];
  w::EncodeHeader(agreed_, w::Header{cmd, 0, static_cast<uint32_t>(n1 + n2)}, hdr);
  iovec iov[3] = {{hdr, sizeof(hdr)}, {const_cast<void*>(p1), n1}, {const_cast<void*>(p2), n2}};
  int cnt = n2 ? 3 : (n1 ? 2 : 1);
  // A send blocked longer than `timeout` costs one ko; at zero the peer is declared dead.
  // ko-count 0 disables this: wait forever.
  int ko = settings_.ko_count;
  auto on_timeout = [&] {
    if (settings_.ko_count == 0) return !failed_.load();
    --ko;
    Log(40, "[" + std::string(w::CommandName(cmd)) + "/0] sock_sendmsg time expired, ko = " + std::to_string(ko));
    return ko > 0 && !failed_.load();
  };
  IoResult r = sock.SendV(iov, cnt, settings_.timeout_ms, on_timeout);
  if (r == IoResult::kOk) return true;
  Fail(r == IoResult::kTimeout ? LinkLoss::kTimeout : LinkLoss::kBrokenPipe);
  return false;
}

bool PeerLink::SendData(uint16_t cmd, const void* p1, size_t n1, const void* p2, size_t n2) {
  return SendPacket(data_, data_send_mu_, cmd, p1, n1, p2, n2);
}

bool PeerLink::SendMeta(uint16_t cmd, const void* p, size_t n) {
  return SendPacket(meta_, meta_send_mu_, cmd, p, n, nullptr, 0);
}

bool PeerLink::SendControl(uint16_t cmd, const std::vector<uint8_t>& payload, bool on_meta) {
  if (!connected_) return false;
  return on_meta ? SendMeta(cmd, payload.data(), payload.size()) : SendData(cmd, payload.data(), payload.size());
}

void PeerLink::SendBlockAck(uint16_t cmd, const uint8_t* sector_raw, const uint8_t* block_id_raw, uint32_t size) {
  w::PBlockAck a;
  a.sector = w::GetBE64(sector_raw);
  std::memcpy(&a.block_id, block_id_raw, 8);
  a.blksize = size;
  a.seq_num = ++seq_;
  uint8_t ack[w::kPBlockAckSize];
  w::Encode(a, ack);
  SendMeta(cmd, ack, sizeof(ack));
}

bool PeerLink::submit_write(Request& req) {
  std::lock_guard<std::mutex> l(tl_mu_);
  if (!connected_ || failed_ || !replicating_) return false;
  const uint64_t id = next_block_id_++;
  tl_.emplace(id, TlEntry{&req, req.offset, static_cast<uint32_t>(req.len), 0, false, false, Clock::now()});
  pe_++;
  Post([this, id] { SendWrite(id); });
  return true;
}

bool PeerLink::submit_flush(Request& req) {
  {
    std::lock_guard<std::mutex> l(tl_mu_);
    if (!connected_ || failed_ || !replicating_) return false;
  }
  Post([this, r = &req] { SendFlush(r); });
  return true;
}

bool PeerLink::CloseEpochLocked(uint32_t* barrier) {
  close_epoch_before_next_ = false;
  if (epoch_ids_.empty()) return false;
  *barrier = epoch_nr_;
  sent_epochs_.push_back(SentEpoch{epoch_nr_, static_cast<uint32_t>(epoch_ids_.size()), std::move(epoch_ids_)});
  epoch_ids_.clear();
  epoch_nr_++;
  epoch_inflight_ = 0;
  return true;
}

// Sender thread. The send mutex is held across the bookkeeping and the send, so teardown
// (which takes it first) cannot complete an entry whose data is being sent; tl_mu_ is never
// held during a send, so the meta receiver can always take acks.
void PeerLink::SendWrite(uint64_t id) {
  std::lock_guard<std::mutex> sl(data_send_mu_);
  uint32_t barrier = 0;
  bool send_barrier = false;
  Request* req;
  w::PData pd;
  {
    std::lock_guard<std::mutex> l(tl_mu_);
    auto it = tl_.find(id);
    if (it == tl_.end()) return;  // the connection was lost meanwhile: already completed
    if (close_epoch_before_next_ || epoch_ids_.size() >= static_cast<size_t>(settings_.max_epoch_size))
      send_barrier = CloseEpochLocked(&barrier);
    TlEntry& e = it->second;
    e.epoch = epoch_nr_;
    e.sent = true;
    e.since = Clock::now();
    epoch_ids_.push_back(id);
    epoch_inflight_++;
    req = e.req;
    uint32_t flags = w::DP_RW_SYNC;
    if (settings_.protocol == 3) flags |= w::DP_SEND_WRITE_ACK;
    if (settings_.protocol == 2) flags |= w::DP_SEND_RECEIVE_ACK;
    if (req->flags & kReqFua) flags |= w::DP_FUA;
    // In a sync state the peer may mark what this write covers in sync (P_RS_WRITE_ACK).
    if (resync_->active()) flags |= w::DP_MAY_SET_IN_SYNC;
    pd.sector = req->offset >> 9;
    pd.block_id = id;  // our handle, echoed raw in the ack
    pd.seq_num = ++seq_;
    pd.dp_flags = flags;
  }
  if (send_barrier) {
    uint8_t b[w::kPBarrierSize];
    w::Encode(w::PBarrier{barrier}, b);
    if (!SendLocked(data_, w::P_BARRIER, b, sizeof(b), nullptr, 0)) return;
  }
  bool ok;
  if (req->op == Op::Write) {
    uint8_t p[w::kPDataSize];
    w::Encode(pd, p);
    ok = SendLocked(data_, w::P_DATA, p, sizeof(p), req->data, req->len);
  } else {
    // Trim and zero-out travel as P_TRIM: "write zeroes over the range", no data.
    w::PTrim t;
    t.data = pd;
    t.data.dp_flags |= w::DP_DISCARD;
    t.size = static_cast<uint32_t>(req->len);
    uint8_t p[w::kPTrimSize];
    w::Encode(t, p);
    ok = SendLocked(data_, w::P_TRIM, p, sizeof(p), nullptr, 0);
  }
  if (!ok) return;  // teardown completes the entry as not replicated
  if (req->op == Op::Write) ns_bytes_ += req->len;
  if (settings_.protocol != 1) return;
  // Protocol A: handed to TCP is the network condition; the entry stays in the transfer log
  // until its epoch is barrier-acknowledged.
  {
    std::lock_guard<std::mutex> l(tl_mu_);
    auto it = tl_.find(id);
    if (it == tl_.end() || it->second.net_done) return;
    it->second.net_done = true;
    pe_--;
    epoch_inflight_--;
    close_epoch_before_next_ = true;
  }
  host_->NetDone(req, true);
  MaybeCloseIdleEpoch();
}

void PeerLink::SendFlush(Request* req) {
  std::lock_guard<std::mutex> sl(data_send_mu_);
  uint32_t barrier = 0;
  bool send_barrier;
  bool nothing_pending;
  {
    std::lock_guard<std::mutex> l(tl_mu_);
    if (!connected_ || failed_) {
      nothing_pending = false;
      send_barrier = false;
    } else {
      send_barrier = CloseEpochLocked(&barrier);
      nothing_pending = sent_epochs_.empty();
      if (!nothing_pending) flush_waiters_.emplace_back(sent_epochs_.back().nr, req);
    }
  }
  if (send_barrier) {
    uint8_t b[w::kPBarrierSize];
    w::Encode(w::PBarrier{barrier}, b);
    SendLocked(data_, w::P_BARRIER, b, sizeof(b), nullptr, 0);
  }
  if (nothing_pending) host_->NetDone(req, true);
  else if (!connected_ || failed_) {
    // Lost meanwhile: teardown answered the waiters; a flush that never got queued fails here.
    std::lock_guard<std::mutex> l(tl_mu_);
    for (auto it = flush_waiters_.begin(); it != flush_waiters_.end(); ++it) {
      if (it->second == req) return;
    }
  }
}

// When the sender goes idle (no write of the open epoch still waiting for the peer), close
// the epoch so the peer acknowledges it promptly. Runs on the sender thread: the meta
// receiver must never block on the data socket.
void PeerLink::MaybeCloseIdleEpoch() {
  Post([this] {
    std::lock_guard<std::mutex> sl(data_send_mu_);
    uint32_t barrier = 0;
    bool send_barrier = false;
    {
      std::lock_guard<std::mutex> l(tl_mu_);
      if (connected_ && !failed_ && epoch_inflight_ == 0) send_barrier = CloseEpochLocked(&barrier);
    }
    if (send_barrier) {
      uint8_t b[w::kPBarrierSize];
      w::Encode(w::PBarrier{barrier}, b);
      SendLocked(data_, w::P_BARRIER, b, sizeof(b), nullptr, 0);
    }
  });
}

void PeerLink::OnBlockAck(uint16_t cmd, const uint8_t* payload) {
  uint64_t id;
  std::memcpy(&id, payload + 8, 8);  // our own block_id, echoed raw
  Request* req;
  const bool ok = cmd != w::P_NEG_ACK;
  if (id == w::kIdSyncer && (cmd == w::P_RS_WRITE_ACK || cmd == w::P_NEG_ACK)) {
    // SyncSource: the target wrote (or failed to write) a block we sent it.
    const uint64_t sector = w::GetBE64(payload);
    const uint32_t size = w::GetBE32(payload + 16);
    if ((sector >> 55) != 0 || (sector << 9) + size > host_->SizeBytes()) {
      ProtocolError(std::string(w::CommandName(cmd)) + " out of range");
      return;
    }
    resync_->SourceAck(sector, size, ok);
    return;
  }
  {
    std::lock_guard<std::mutex> l(tl_mu_);
    auto it = tl_.find(id);
    if (it == tl_.end() || !it->second.sent) {
      Log(50, std::string("BUG! ") + w::CommandName(cmd) + " for unknown block_id");
      Fail(LinkLoss::kProtocolError);
      return;
    }
    TlEntry& e = it->second;
    if (!ok) host_->MarkOutOfSync(e.offset, e.len);
    // The peer cleared these blocks: it has our data now, so they are in sync here too.
    if (cmd == w::P_RS_WRITE_ACK) host_->OutOfSync().clear_range(e.offset, e.len);
    if (e.net_done) return;
    e.net_done = true;
    pe_--;
    req = e.req;
    if (e.epoch == epoch_nr_) {
      epoch_inflight_--;
      // A completed write ends its epoch: whatever the application submits after this
      // completion must be ordered after it on the peer.
      close_epoch_before_next_ = true;
    }
  }
  host_->NetDone(req, ok);
  MaybeCloseIdleEpoch();
}

void PeerLink::OnBarrierAck(const uint8_t* payload) {
  w::PBarrierAck ack = w::DecodePBarrierAck(payload, w::kPBarrierAckSize);
  uint32_t nr = ack.barrier;  // our own number, echoed raw
  std::vector<Request*> flushed;
  {
    std::lock_guard<std::mutex> l(tl_mu_);
    if (sent_epochs_.empty() || sent_epochs_.front().nr != nr) {
      Log(50, "BAD! BarrierAck #" + std::to_string(nr) + " received, expected #" +
                  (sent_epochs_.empty() ? std::string("none") : std::to_string(sent_epochs_.front().nr)) + "!");
      Fail(LinkLoss::kProtocolError);
      return;
    }
    SentEpoch& ep = sent_epochs_.front();
    if (ep.writes != ack.set_size) {
      Log(50, "BAD! BarrierAck #" + std::to_string(nr) + " received with n_writes=" + std::to_string(ack.set_size) +
                  ", expected n_writes=" + std::to_string(ep.writes) + "!");
      Fail(LinkLoss::kProtocolError);
      return;
    }
    for (uint64_t id : ep.ids) tl_.erase(id);
    sent_epochs_.pop_front();
    for (auto it = flush_waiters_.begin(); it != flush_waiters_.end();) {
      // Epoch numbers wrap; barrier acks arrive in order, so "at or before nr" is a signed
      // distance test.
      if (static_cast<int32_t>(it->first - nr) <= 0) {
        flushed.push_back(it->second);
        it = flush_waiters_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (Request* r : flushed) host_->NetDone(r, true);
}

// ---------------------------------------------------------------- receiving

LinkLoss PeerLink::DataReceiver() {
  std::vector<uint8_t> payload;
  const uint64_t size_bytes = host_->SizeBytes();
  // A request must lie inside the device (sector arithmetic must not wrap).
  auto in_range = [&](uint64_t sector, uint64_t len) {
    uint64_t off = sector << 9;
    return (sector >> 55) == 0 && len > 0 && len % 512 == 0 && off + len <= size_bytes;
  };
  auto bad = [&](const std::string& what) {
    Log(50, what);
    Fail(LinkLoss::kProtocolError);
  };
  while (!failed_ && !stopping_) {
    uint8_t hdr[w::kH100Size];
    if (data_.RecvExact(hdr, sizeof(hdr), -1) != IoResult::kOk) {
      if (!failed_) Log(40, "sock was shut down by peer");
      Fail(LinkLoss::kBrokenPipe);
      break;
    }
    last_rx_ms_ = NowMs();
    w::Header h;
    try {
      h = w::DecodeHeader(agreed_, hdr, sizeof(hdr));
      // No data-integrity digest in P_DATA*; a csums digest's size is checked by its handler.
      const int digest = h.command == w::P_CSUM_RS_REQUEST ? -1 : 0;
      w::CheckPayloadSize(h.command, h.length, w::Sock::kData, 0, digest);
    } catch (const w::WireError& e) {
      bad(e.what());
      break;
    }
    const uint16_t cmd = h.command;
    auto recv = [&](void* buf, size_t n) {
      if (n == 0 || data_.RecvExact(buf, n, -1) == IoResult::kOk) return true;
      Fail(LinkLoss::kBrokenPipe);
      return false;
    };
    if (IsControlPacket(cmd)) {
      if (h.length > kMaxControlPayload) {
        bad(std::string("Unexpected data packet ") + w::CommandName(cmd) + " (length " + std::to_string(h.length) + ")");
        break;
      }
      payload.resize(h.length);
      if (!recv(payload.data(), h.length)) break;
      {
        std::lock_guard<std::mutex> l(control_mu_);
        control_busy_ = true;
      }
      events_->OnControl(cmd, payload, false);
      std::unique_lock<std::mutex> l(control_mu_);
      control_cv_.wait(l, [this] { return !control_busy_ || failed_ || stopping_; });
      continue;
    }
    switch (cmd) {
      case w::P_DATA:
      case w::P_TRIM:
      case w::P_ZEROES: {
        const bool is_data = cmd == w::P_DATA;
        const size_t head = is_data ? w::kPDataSize : w::kPTrimSize;
        uint8_t p[w::kPTrimSize];
        if (!recv(p, head)) break;
        w::PData d;
        uint32_t size;
        if (is_data) {
          d = w::DecodePData(p, head);
          size = h.length - static_cast<uint32_t>(head);
        } else {
          w::PTrim t = w::DecodePTrim(p, head);
          d = t.data;
          size = t.size;
        }
        if (!in_range(d.sector, size) || (is_data && size > w::kMaxBioSize)) {
          bad(std::string("Unexpected data packet ") + w::CommandName(cmd) + " at sector " + std::to_string(d.sector) +
              " size " + std::to_string(size));
          break;
        }
        DataBuffer buf;
        if (is_data) {
          buf.resize(size);
          if (!recv(buf.data(), size)) break;
          nr_bytes_ += size;
        }
        std::shared_ptr<RecvEpoch> ep;
        {
          std::lock_guard<std::mutex> l(recv_mu_);
          ep = recv_epochs_.back();
          ep->writes++;
          ep->pending++;
          if (!(d.dp_flags & w::DP_SEND_WRITE_ACK)) ep->needs_drain = true;
        }
        ua_++;
        uint8_t sector_raw[8];
        std::memcpy(sector_raw, p, 8);
        const uint64_t id = d.block_id;
        if (d.dp_flags & w::DP_SEND_RECEIVE_ACK)
          SendBlockAck(w::P_RECV_ACK, sector_raw, reinterpret_cast<const uint8_t*>(&id), size);
        const uint32_t flags = d.dp_flags;
        const uint64_t sector = d.sector;
        // A resync write to the same blocks must not land after this one.
        resync_->PeerWriteBegins(sector, size);
        auto complete = [this, ep, flags, size, sector, id](int err) {
          if (flags & w::DP_SEND_WRITE_ACK) {
            // Both sides in a sync state: the write makes its blocks equal, so they are in
            // sync on both (the peer clears its bits on P_RS_WRITE_ACK).
            const bool in_sync = !err && (flags & w::DP_MAY_SET_IN_SYNC) && resync_->active();
            if (in_sync) host_->OutOfSync().clear_range(sector << 9, size);
            uint16_t ack = err ? w::P_NEG_ACK : in_sync ? w::P_RS_WRITE_ACK : w::P_WRITE_ACK;
            uint8_t sr[8];
            w::PutBE64(sr, sector);
            SendBlockAck(ack, sr, reinterpret_cast<const uint8_t*>(&id), size);
            if (in_sync) MaybeResyncDone();
          }
          ua_--;
          RecvWriteDone(ep);
          HostOpEnd();
        };
        HostOpBegin();
        const uint64_t offset = d.sector << 9;
        if (is_data)
          host_->PeerWrite(offset, std::move(buf), (flags & w::DP_FUA) != 0, (flags & w::DP_FLUSH) != 0, complete);
        else
          host_->PeerZero(offset, size, complete);
        break;
      }
      case w::P_BARRIER: {
        uint8_t b[w::kPBarrierSize];
        if (!recv(b, sizeof(b))) break;
        std::shared_ptr<RecvEpoch> closed;
        {
          std::lock_guard<std::mutex> l(recv_mu_);
          closed = recv_epochs_.back();
          std::memcpy(closed->barrier_raw, b, 4);
          closed->barrier_seen = true;
          recv_epochs_.push_back(std::make_shared<RecvEpoch>());
        }
        if (closed->needs_drain) {
          // Protocol A/B: the Primary completed these writes before we wrote them, so a
          // later epoch may depend on them. Finish this epoch before reading the next
          // write (DRBD's drain on barrier).
          std::unique_lock<std::mutex> l(recv_mu_);
          recv_cv_.wait(l, [&] { return closed->pending == 0 || failed_; });
        }
        AckCompletedEpochs();
        break;
      }
      case w::P_UNPLUG_REMOTE:
      case w::P_DELAY_PROBE: {
        // Hints without effect here (the 8.4 kernel skips P_DELAY_PROBE too).
        payload.resize(h.length);
        recv(payload.data(), h.length);
        break;
      }
      case w::P_DATA_REQUEST:
      case w::P_RS_DATA_REQUEST: {
        uint8_t req[w::kPBlockReqSize];
        if (!recv(req, sizeof(req))) break;
        w::PBlockReq br = w::DecodePBlockReq(req, sizeof(req));
        if (!in_range(br.sector, br.blksize) || br.blksize > w::kMaxBioSize) {
          bad(std::string("Unexpected data packet ") + w::CommandName(cmd) + " out of range");
          break;
        }
        const bool resync = cmd == w::P_RS_DATA_REQUEST;
        ua_++;
        HostOpBegin();
        host_->PeerRead(br.sector << 9, br.blksize, [this, resync, br](int err, DataBuffer d) {
          uint8_t sr[8];
          w::PutBE64(sr, br.sector);
          if (err) {
            SendBlockAck(resync ? w::P_NEG_RS_DREPLY : w::P_NEG_DREPLY, sr, reinterpret_cast<const uint8_t*>(&br.block_id),
                         br.blksize);
          } else {
            // Replies echo sector and block_id; seq and flags are 0.
            w::PData reply;
            reply.sector = br.sector;
            reply.block_id = br.block_id;
            uint8_t p[w::kPDataSize];
            w::Encode(reply, p);
            SendData(resync ? w::P_RS_DATA_REPLY : w::P_DATA_REPLY, p, sizeof(p), d.data(), d.size());
            ns_bytes_ += d.size();
          }
          ua_--;
          HostOpEnd();
        });
        break;
      }
      case w::P_BITMAP:
      case w::P_COMPRESSED_BITMAP:
        ReceiveBitmap(cmd, h.length);
        break;
      case w::P_RS_DATA_REPLY:
        ReceiveRsDataReply(h.length);
        break;
      case w::P_DATA_REPLY:
        ReceiveDataReply(h.length);
        break;
      case w::P_CSUM_RS_REQUEST:
        ReceiveCsumRequest(h.length);
        break;
      default:
        bad(std::string("Unexpected data packet ") + w::CommandName(cmd) + " (0x" + Hex4(cmd) + ")");
        break;
    }
  }
  return fail_reason_;
}

void PeerLink::RecvWriteDone(const std::shared_ptr<RecvEpoch>& ep) {
  {
    std::lock_guard<std::mutex> l(recv_mu_);
    ep->pending--;
  }
  recv_cv_.notify_all();
  AckCompletedEpochs();
}

// Acknowledges, in arrival order, every closed epoch whose writes are all complete: after a
// flush of the backing device (write ordering "flush"), P_BARRIER_ACK with the write count.
void PeerLink::AckCompletedEpochs() {
  // Completions run on several threads at once: popping the finished epochs and queueing
  // their acks happen under one lock, so the acks leave in epoch order (the Primary checks
  // each against its oldest open epoch).
  std::lock_guard<std::mutex> l(recv_mu_);
  while (recv_epochs_.size() > 1 && recv_epochs_.front()->barrier_seen && recv_epochs_.front()->pending == 0) {
    std::shared_ptr<RecvEpoch> ep = recv_epochs_.front();
    recv_epochs_.pop_front();
    if (ep->writes == 0) continue;  // empty epochs are never acknowledged
    HostOpBegin();
    Post([this, ep] {
      std::mutex m;
      std::condition_variable cv;
      bool flushed = false;
      host_->PeerFlush([&](int) {
        std::lock_guard<std::mutex> fl(m);
        flushed = true;
        cv.notify_all();
      });
      {
        std::unique_lock<std::mutex> fl(m);
        cv.wait(fl, [&] { return flushed; });
      }
      w::PBarrierAck a;
      std::memcpy(&a.barrier, ep->barrier_raw, 4);  // echoed raw
      a.set_size = ep->writes;
      uint8_t ack[w::kPBarrierAckSize];
      w::Encode(a, ack);
      SendMeta(w::P_BARRIER_ACK, ack, sizeof(ack));
      HostOpEnd();
    });
  }
}

void PeerLink::MetaReceiver() {
  while (!failed_ && !stopping_) {
    int64_t now = NowMs();
    // Request timer: the oldest write waiting for the peer must finish within
    // ko-count x timeout.
    if (settings_.ko_count > 0) {
      std::lock_guard<std::mutex> l(tl_mu_);
      int64_t limit = static_cast<int64_t>(settings_.ko_count) * settings_.timeout_ms;
      for (auto& [id, e] : tl_) {
        (void)id;
        if (!e.sent || e.net_done) continue;
        auto age = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - e.since).count();
        if (age > limit) {
          Log(50, "Remote failed to finish a request within " + std::to_string(age) + "ms > ko-count (" +
                      std::to_string(settings_.ko_count) + ") * timeout (" + std::to_string(settings_.timeout_ms / 100) +
                      " * 0.1s)");
          Fail(LinkLoss::kTimeout);
          return;
        }
      }
    }
    int wait;
    if (ping_pending_) {
      wait = static_cast<int>(ping_sent_ms_ + settings_.ping_timeout_ms - now);
      if (wait <= 0) {
        Log(50, "PingAck did not arrive in time.");
        Fail(LinkLoss::kNetworkFailure);
        return;
      }
    } else {
      int64_t idle = now - last_rx_ms_;
      if (idle >= settings_.ping_int_ms) {
        ping_pending_ = true;
        ping_sent_ms_ = now;
        SendMeta(w::P_PING, nullptr, 0);
        continue;
      }
      wait = static_cast<int>(settings_.ping_int_ms - idle);
    }
    if (wait > 1000) wait = 1000;
    if (!meta_.WaitReadable(wait)) continue;
    uint8_t hdr[w::kH100Size];
    IoResult mr = meta_.RecvExact(hdr, sizeof(hdr), settings_.ping_timeout_ms);
    if (mr != IoResult::kOk) {
      if (!failed_) Log(40, "meta connection shut down by peer.");
      if (mr == IoResult::kClosed) {
        // A peer that closes (disconnect, a split brain it detected first) closes both
        // sockets; what it sent on the data socket before — its P_STATE, say — is still to
        // be read. Let the data receiver drain to its own end of file first.
        for (int waited = 0; waited < settings_.ping_timeout_ms && !failed_; waited += 10)
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      Fail(LinkLoss::kNetworkFailure);
      return;
    }
    w::Header h;
    try {
      h = w::DecodeHeader(agreed_, hdr, sizeof(hdr));
    } catch (const w::WireError& e) {
      Log(50, e.what());
      Fail(LinkLoss::kNetworkFailure);
      return;
    }
    const int expected = w::MetaPayloadSize(h.command);
    if (expected < 0) {
      Log(50, std::string("Unexpected meta packet ") + w::CommandName(h.command) + " (0x" + Hex4(h.command) + ")");
      Fail(LinkLoss::kTearDown);
      return;
    }
    if (static_cast<uint32_t>(expected) != h.length) {
      Log(50, "Wrong packet size on meta (c: " + std::to_string(h.command) + ", l: " + std::to_string(h.length) + ")");
      Fail(LinkLoss::kNetworkFailure);
      return;
    }
    uint8_t p[64];
    if (h.length && meta_.RecvExact(p, h.length, settings_.ping_timeout_ms) != IoResult::kOk) {
      Fail(LinkLoss::kNetworkFailure);
      return;
    }
    last_rx_ms_ = NowMs();
    switch (h.command) {
      case w::P_PING:
        SendMeta(w::P_PING_ACK, nullptr, 0);
        break;
      case w::P_PING_ACK:
        ping_pending_ = false;
        break;
      case w::P_RECV_ACK:
      case w::P_WRITE_ACK:
      case w::P_RS_WRITE_ACK:
      case w::P_NEG_ACK:
        OnBlockAck(h.command, p);
        break;
      case w::P_BARRIER_ACK:
        OnBarrierAck(p);
        break;
      case w::P_NEG_DREPLY:
      case w::P_NEG_RS_DREPLY:
      case w::P_RS_CANCEL:
      case w::P_RS_IS_IN_SYNC:
        OnRefusal(h.command, p);
        break;
      case w::P_STATE_CHG_REPLY:
      case w::P_CONN_ST_CHG_REPLY:
        events_->OnControl(h.command, std::vector<uint8_t>(p, p + h.length), true);
        break;
      default:
        Log(50, std::string("Unexpected meta packet ") + w::CommandName(h.command) + " (0x" + Hex4(h.command) + ")");
        Fail(LinkLoss::kTearDown);
        return;
    }
  }
}

void PeerLink::Teardown(LinkLoss why) {
  connected_ = false;
  Fail(why);
  if (meta_thread_.joinable()) meta_thread_.join();
  // Local writes started for the peer finish first (their acks go nowhere).
  {
    std::unique_lock<std::mutex> l(host_ops_mu_);
    host_ops_cv_.wait(l, [this] { return host_ops_.load() == 0; });
  }
  ResyncTeardown();
  // Everything the peer has not barrier-acknowledged may be missing there: mark it out of
  // sync and complete what is still pending (as not replicated).
  std::vector<Request*> pending;
  std::vector<Request*> flushes;
  {
    std::lock_guard<std::mutex> sl(data_send_mu_);
    std::lock_guard<std::mutex> l(tl_mu_);
    for (auto& [id, e] : tl_) {
      (void)id;
      host_->MarkOutOfSync(e.offset, e.len);
      if (!e.net_done) {
        pending.push_back(e.req);
        pe_--;
      }
    }
    tl_.clear();
    sent_epochs_.clear();
    epoch_ids_.clear();
    epoch_inflight_ = 0;
    close_epoch_before_next_ = false;
    for (auto& w : flush_waiters_) flushes.push_back(w.second);
    flush_waiters_.clear();
    epoch_nr_++;
  }
  for (Request* r : pending) host_->NetDone(r, false);
  for (Request* r : flushes) host_->NetDone(r, false);
  {
    std::lock_guard<std::mutex> l(recv_mu_);
    recv_epochs_.clear();
  }
  {
    std::lock_guard<std::mutex> l(sock_mu_);
    data_.Close();
    meta_.Close();
  }
  events_->OnLost(why);
}

PeerLink::Counters PeerLink::counters() const {
  int64_t ep;
  {
    std::lock_guard<std::mutex> l(const_cast<std::mutex&>(recv_mu_));
    ep = recv_epochs_.empty() ? 1 : static_cast<int64_t>(recv_epochs_.size());
  }
  return Counters{ns_bytes_.load(), nr_bytes_.load(), pe_.load(), ua_.load(), ep};
}

}  // namespace udrbd
