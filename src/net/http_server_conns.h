// The connections the server is serving, by client address and by what each
// is doing, so that a few clients cannot hold every thread.
//
// Two defences against clients that open connections and send little or
// nothing (slow-loris):
// - A cap per address: a connection from an address that already has
//   `per_address` being served is refused at once (429, see LimitedServer).
//   IPv6 addresses count per /64, the block one host usually controls.
// - Shedding: when every thread is busy and connections wait for one (the
//   pool reports its backlog), connections that are idle between requests or
//   have sent only part of a request head are told to close, those with a
//   partial head first, oldest first: one per waiting connection. A request
//   whose head is complete is never shed.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

namespace converge {

// The key connections are counted under: the IPv4 address (also for an
// IPv4-mapped IPv6 one), or the /64 of an IPv6 address ("2001:db8:1:2::/64").
std::string AddressKey(const sockaddr_storage& addr);

class ConnTable {
 public:
  enum class State {
    kWaiting,  // for a request's first byte (the first, or the next on a keep-alive connection)
    kHead,     // the request head has begun and is not complete
    kBusy,     // a request is being served
  };

  // One admitted connection; its destructor gives the place back, on every path.
  class Slot {
   public:
    ~Slot();
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    void Enter(State state);
    // Set when the table wants this connection closed to free its thread.
    bool shed() const { return shed_.load(std::memory_order_relaxed); }

   private:
    friend class ConnTable;
    Slot(ConnTable* table, std::string key) : table_(table), key_(std::move(key)) {}
    ConnTable* table_;
    std::string key_;
    State state_ = State::kWaiting;  // these two under table_->mu_
    std::chrono::steady_clock::time_point since_;
    std::atomic<bool> shed_{false};
  };

  // per_address 0: no cap.
  explicit ConnTable(size_t per_address) : per_address_(per_address) {}

  // Admits a connection from `key`, or null when that key has per_address
  // connections already.
  std::unique_ptr<Slot> Admit(const std::string& key);
  // The thread pool's backlog: connections waiting for a thread. Asks as
  // many idle or head-incomplete connections to close (those asked before
  // and still open count).
  void SetBacklog(size_t waiting);

  size_t per_address() const { return per_address_; }
  size_t open() const;
  size_t open_from(const std::string& key) const;
  size_t shedding() const;

 private:
  void Release(Slot* slot);
  void Enter(Slot* slot, State state);
  void ShedLocked();

  const size_t per_address_;
  mutable std::mutex mu_;
  std::map<std::string, size_t> by_key_;
  std::set<Slot*> slots_;  // every open one
  size_t backlog_ = 0;
  size_t shedding_ = 0;  // slots asked to close and still open
};

}  // namespace converge
