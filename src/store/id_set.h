// IdSet: a set of object IDs in one flat table (open addressing, linear
// probing, at most 3/4 full): 32 bytes a slot, so 43 to 85 bytes an ID,
// where a node-based std::unordered_set<ObjectId> takes about 80 plus its
// bucket array. For walks over every object of a large tree (publish's
// negotiation). Not thread-safe.
#pragma once

#include <cstddef>
#include <vector>

#include "store/hash.h"

namespace converge {

class IdSet {
 public:
  // True when `id` was not in the set.
  bool Insert(const ObjectId& id) {
    if (id.is_zero()) {  // the zero ID marks an empty slot: kept aside
      bool added = !has_zero_;
      has_zero_ = true;
      size_ += added ? 1 : 0;
      return added;
    }
    if ((size_ + 1) * 4 > slots_.size() * 3) Grow();
    ObjectId& slot = Slot(id);
    if (!slot.is_zero()) return false;
    slot = id;
    size_++;
    return true;
  }
  bool Contains(const ObjectId& id) const {
    if (id.is_zero()) return has_zero_;
    if (slots_.empty()) return false;
    return !const_cast<IdSet*>(this)->Slot(id).is_zero();
  }
  size_t size() const { return size_; }

 private:
  // The slot holding `id`, else the empty one where it would go.
  ObjectId& Slot(const ObjectId& id) {
    size_t mask = slots_.size() - 1;
    for (size_t i = std::hash<ObjectId>()(id) & mask;; i = (i + 1) & mask)
      if (slots_[i].is_zero() || slots_[i] == id) return slots_[i];
  }
  void Grow() {
    std::vector<ObjectId> old(slots_.empty() ? 1024 : slots_.size() * 2);
    old.swap(slots_);
    for (const ObjectId& id : old)
      if (!id.is_zero()) Slot(id) = id;
  }

  std::vector<ObjectId> slots_;  // a power of two of them
  size_t size_ = 0;
  bool has_zero_ = false;
};

}  // namespace converge
