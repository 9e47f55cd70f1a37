#include "nbd_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include "nbd_connection.h"

namespace udrbd {

namespace {

std::runtime_error SysError(const std::string& what) {
  return std::runtime_error(what + ": " + std::strerror(errno));
}

int ListenUnix(const std::string& path) {
  struct sockaddr_un addr = {};
  if (path.size() >= sizeof(addr.sun_path)) throw std::runtime_error("NBD socket path too long: " + path);
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  // A socket left behind by a crashed daemon would make bind fail; anything else at that
  // path is not ours to remove.
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) ::unlink(path.c_str());
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw SysError("socket");
  if (::bind(fd, reinterpret_cast<struct sockaddr*>(&addr), sizeof(addr)) != 0 || ::listen(fd, 64) != 0) {
    int e = errno;
    ::close(fd);
    errno = e;
    throw SysError("cannot listen on " + path);
  }
  return fd;
}

int ListenTcp(const std::string& host, int port, int* bound_port) {
  struct sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    throw std::runtime_error("NBD TCP address is not an IPv4 address: " + host);
  }
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw SysError("socket");
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  socklen_t alen = sizeof(addr);
  if (::bind(fd, reinterpret_cast<struct sockaddr*>(&addr), sizeof(addr)) != 0 || ::listen(fd, 64) != 0 ||
      ::getsockname(fd, reinterpret_cast<struct sockaddr*>(&addr), &alen) != 0) {
    int e = errno;
    ::close(fd);
    errno = e;
    throw SysError("cannot listen on " + host + ":" + std::to_string(port));
  }
  *bound_port = ntohs(addr.sin_port);
  return fd;
}

}  // namespace

NbdServer::NbdServer(Device& device, const NbdServerConfig& cfg, EventSink* events)
    : device_(device), cfg_(cfg), events_(events) {}

NbdServer::~NbdServer() { stop(); }

void NbdServer::start() {
  try {
    if (!cfg_.unix_path.empty()) unix_fd_ = ListenUnix(cfg_.unix_path);
    if (!cfg_.tcp_host.empty()) tcp_fd_ = ListenTcp(cfg_.tcp_host, cfg_.tcp_port, &bound_tcp_port_);
  } catch (...) {
    if (unix_fd_ >= 0) {
      ::close(unix_fd_);
      ::unlink(cfg_.unix_path.c_str());
      unix_fd_ = -1;
    }
    throw;
  }
  started_ = true;
  for (int fd : {unix_fd_, tcp_fd_}) {
    if (fd >= 0) acceptors_.emplace_back([this, fd] { accept_loop(fd); });
  }
}

void NbdServer::accept_loop(int listen_fd) {
  while (!stopping_.load(std::memory_order_acquire)) {
    int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // Out of descriptors or memory: back off instead of spinning; clients retry.
        ::usleep(100 * 1000);
        continue;
      }
      return;  // shutdown() of the listening socket during stop()
    }
    // A larger send buffer lets a 1 MiB read reply go out in one sendmsg() instead of several
    // rounds of waiting for the client to drain the default ~200 KiB (capped by wmem_max).
    int sndbuf = 4 << 20;
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
    if (listen_fd == tcp_fd_) {
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    reap_finished();
    std::lock_guard<std::mutex> lk(mu_);
    if (stopping_.load(std::memory_order_acquire)) {
      ::close(fd);
      return;
    }
    // Each client costs a few threads: a flood of connections is refused, not served until
    // the process runs out of threads.
    if (conns_.size() >= cfg_.max_clients) {
      ::close(fd);
      if (events_) events_->emit({"nbdError", 0, EMFILE, 0, 0, "too many NBD clients, connection refused"});
      continue;
    }
    auto conn = std::make_unique<NbdConnection>(*this, fd, next_id_++);
    try {
      conn->start();
    } catch (const std::system_error&) {
      continue;  // no thread for it: the connection object closes the socket
    }
    conns_.push_back(std::move(conn));
  }
}

void NbdServer::reap_finished() {
  std::list<std::unique_ptr<NbdConnection>> done;
  {
    std::lock_guard<std::mutex> lk(mu_);
    for (auto it = conns_.begin(); it != conns_.end();) {
      if ((*it)->finished()) {
        done.push_back(std::move(*it));
        it = conns_.erase(it);
      } else {
        ++it;
      }
    }
  }
  done.clear();  // joins outside the lock
}

unsigned NbdServer::clients() const {
  std::lock_guard<std::mutex> lk(mu_);
  unsigned n = 0;
  for (auto& c : conns_) n += c->finished() ? 0 : 1;
  return n;
}

void NbdServer::stop() {
  if (stopping_.exchange(true)) return;
  if (!started_) return;
  // shutdown() wakes a thread blocked in accept(); close() alone would not.
  for (int fd : {unix_fd_, tcp_fd_}) {
    if (fd >= 0) ::shutdown(fd, SHUT_RDWR);
  }
  for (auto& t : acceptors_) t.join();
  acceptors_.clear();
  if (unix_fd_ >= 0) {
    ::close(unix_fd_);
    ::unlink(cfg_.unix_path.c_str());
  }
  if (tcp_fd_ >= 0) ::close(tcp_fd_);
  unix_fd_ = tcp_fd_ = -1;
  std::list<std::unique_ptr<NbdConnection>> all;
  {
    std::lock_guard<std::mutex> lk(mu_);
    all.swap(conns_);
  }
  for (auto& c : all) c->shutdown();
  all.clear();  // each destructor joins its connection
}

}  // namespace udrbd
