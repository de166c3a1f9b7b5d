// IdSet: a set of object IDs held compactly: the IDs themselves in blocks (a
// deque: growing never copies them all) and an open-addressing table of their
// positions (4 bytes a slot, at most half full), so 40 to 48 bytes an ID,
// where a node-based std::unordered_set<ObjectId> takes about 80 plus its
// bucket array, and no doubling ever holds two copies of the IDs. For walks
// over every object of a large tree (publish's negotiation). Not
// thread-safe; at most 2^32 - 1 IDs.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

#include "store/hash.h"

namespace converge {

class IdSet {
 public:
  // True when `id` was not in the set.
  bool Insert(const ObjectId& id) {
    if ((ids_.size() + 1) * 2 > slots_.size()) Grow();
    uint32_t& slot = Slot(id);
    if (slot != 0) return false;
    ids_.push_back(id);
    slot = static_cast<uint32_t>(ids_.size());
    return true;
  }
  bool Contains(const ObjectId& id) const {
    return !slots_.empty() && const_cast<IdSet*>(this)->Slot(id) != 0;
  }
  size_t size() const { return ids_.size(); }

 private:
  // The slot holding `id`'s position (1-based), else the empty one where it
  // would go. IDs are hashes: their first bytes are uniform already.
  uint32_t& Slot(const ObjectId& id) {
    size_t mask = slots_.size() - 1;
    for (size_t i = std::hash<ObjectId>()(id) & mask;; i = (i + 1) & mask)
      if (slots_[i] == 0 || ids_[slots_[i] - 1] == id) return slots_[i];
  }
  void Grow() {
    size_t n = 1024;
    while (n < (ids_.size() + 1) * 4) n *= 2;  // a power of two, at most a quarter full
    std::vector<uint32_t>().swap(slots_);
    slots_.assign(n, 0);
    for (size_t p = 0; p < ids_.size(); p++) Slot(ids_[p]) = static_cast<uint32_t>(p + 1);
  }

  std::deque<ObjectId> ids_;
  std::vector<uint32_t> slots_;  // a power of two of them; 0: empty
};

}  // namespace converge
