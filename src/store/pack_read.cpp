// PackSet::StreamCopy (store/pack_set.h): one packed copy read, re-hashed
// and handed to a sink in pieces of at most 1 MiB, in bounded memory (a few
// MiB, whatever the object's size or codec):
// - up to 1 MiB (raw or compressed): read (and decompressed) whole, hashed,
//   and only then handed out;
// - larger: a piece at a time, each piece handed out once the next one is
//   made, the last only after the hash matched, so a sink never holds a whole
//   damaged object (ObjectStore::Stream's promise).
// PackSet::StreamFrameCopy hands out a compressed copy's stored frame the
// same way (for the wire: store/cas.h, StreamStored).
#include <algorithm>
#include <memory>

#include "store/compress.h"
#include "store/pack_set.h"

namespace converge {

namespace {

constexpr size_t kPiece = 1 << 20;

std::string CorruptCopy(const PackSet::Copy& c, const ObjectId& id, const std::string& why) {
  return "object " + id.hex() + " is corrupt: " + why + " (" + c.Where() + "); run 'converge fsck'";
}

bool PossibleSizes(const PackEntry& e) {
  return e.codec == Codec::kZstd
             ? e.raw <= kMaxCompressedObject && e.stored <= e.raw + kMaxFrameOverhead
             : e.stored == e.raw;
}

}  // namespace

std::string_view PackSet::EntryHead::stored() const {
  return std::string_view(buf.get() + kPackEntryHeaderBytes, first);
}

Result<PackSet::EntryHead> PackSet::ReadEntryHead(const Copy& c, const ObjectId& id, size_t first,
                                                  std::atomic<uint64_t>& bytes_read) const {
  const PackEntry& e = c.entry;
  auto corrupt = [&](const std::string& why) { return Corrupt(CorruptCopy(c, id, why)); };
  if (e.pack >= c.index->packs().size()) return corrupt("its index entry names no pack");
  if (!PossibleSizes(e)) return corrupt("its index entry has impossible sizes");
  EntryHead head;
  ASSIGN_OR_RETURN(head.fd, OpenPack(c.index->packs()[e.pack]));
  head.first = first;
  head.buf = std::make_unique_for_overwrite<char[]>(kPackEntryHeaderBytes + first);
  RETURN_IF_ERROR(
      ReadAt(c, head.fd->get(), head.buf.get(), kPackEntryHeaderBytes + first, e.offset));
  bytes_read.fetch_add(kPackEntryHeaderBytes + first);
  Result<PackEntryHeader> h =
      DecodeEntryHeader(std::string_view(head.buf.get(), kPackEntryHeaderBytes));
  if (!h.ok() || h->id != id || h->codec != e.codec || h->raw != e.raw || h->stored != e.stored)
    return corrupt("the pack holds something else where its index points");
  return head;
}

Status PackSet::StreamCopy(const Copy& c, const ObjectId& id, const Sink& sink, bool* delivered,
                           std::atomic<uint64_t>& bytes_read) const {
  const PackEntry& e = c.entry;
  auto corrupt = [&](const std::string& why) { return Corrupt(CorruptCopy(c, id, why)); };
  bool zstd = e.codec == Codec::kZstd;
  bool small = e.raw <= kPiece;
  size_t first = static_cast<size_t>(small ? e.stored : std::min<uint64_t>(e.stored, kPiece));
  ASSIGN_OR_RETURN(EntryHead head, ReadEntryHead(c, id, first, bytes_read));
  const std::shared_ptr<Fd>& fd = head.fd;
  std::unique_ptr<char[]>& in = head.buf;  // refilled with later pieces
  std::string_view stored = head.stored();
  uint64_t read = first;  // of the stored bytes
  Hasher hasher;

  if (small) {
    std::unique_ptr<char[]> raw;
    std::string_view bytes = stored;
    if (zstd) {
      raw = std::make_unique_for_overwrite<char[]>(std::max<uint64_t>(e.raw, 1));
      Status st = DecompressStored(stored, raw.get(), e.raw);
      if (!st.ok()) return corrupt(st.message());
      bytes = std::string_view(raw.get(), e.raw);
    }
    hasher.Update(bytes);
    if (hasher.Finish() != id) return corrupt("its bytes do not match its ID");
    if (bytes.empty()) return Status::Ok();
    *delivered = true;
    return sink(bytes);
  }

  // Larger: `held` is the piece made before the one being made into `next`.
  auto held_buf = std::make_unique_for_overwrite<char[]>(kPiece);
  auto next_buf = std::make_unique_for_overwrite<char[]>(kPiece);
  std::string_view held;
  uint64_t made = 0;  // raw bytes
  std::optional<StreamDecompressor> z;
  if (zstd) z.emplace();
  auto refill = [&]() -> Status {  // the next stored bytes into `in`
    size_t n = static_cast<size_t>(std::min<uint64_t>(kPiece, e.stored - read));
    RETURN_IF_ERROR(ReadAt(c, fd->get(), in.get(), n, e.offset + kPackEntryHeaderBytes + read));
    bytes_read.fetch_add(n);
    read += n;
    stored = std::string_view(in.get(), n);
    return Status::Ok();
  };
  for (;;) {
    size_t n = 0;
    if (!zstd && !stored.empty()) {  // the first piece, read with the header
      n = stored.size();
      std::copy(stored.begin(), stored.end(), next_buf.get());
      stored = {};
    } else if (!zstd) {
      if (read == e.stored) break;
      n = static_cast<size_t>(std::min<uint64_t>(kPiece, e.stored - read));
      RETURN_IF_ERROR(
          ReadAt(c, fd->get(), next_buf.get(), n, e.offset + kPackEntryHeaderBytes + read));
      bytes_read.fetch_add(n);
      read += n;
    } else {
      while (n < kPiece && !z->done()) {
        if (stored.empty()) {
          if (read == e.stored) break;
          RETURN_IF_ERROR(refill());
        }
        Status st = z->Feed(stored, next_buf.get(), kPiece, &n);
        if (!st.ok()) return corrupt(st.message());
      }
      if (n == 0) break;
    }
    made += n;
    if (made > e.raw) return corrupt("it holds more bytes than its index says");
    hasher.Update(next_buf.get(), n);
    if (!held.empty()) {
      *delivered = true;
      RETURN_IF_ERROR(sink(held));
    }
    std::swap(held_buf, next_buf);
    held = std::string_view(held_buf.get(), n);
  }
  if (zstd && (!z->done() || !stored.empty() || read != e.stored))
    return corrupt("its compressed frame is cut short or followed by other bytes");
  if (made != e.raw) return corrupt("it holds fewer bytes than its index says");
  if (hasher.Finish() != id) return corrupt("its bytes do not match its ID");
  *delivered = true;
  return sink(held);
}

Status PackSet::StreamFrameCopy(const Copy& c, const ObjectId& id, const Sink& sink,
                                bool* delivered, std::atomic<uint64_t>& bytes_read) const {
  const PackEntry& e = c.entry;
  auto corrupt = [&](const std::string& why) { return Corrupt(CorruptCopy(c, id, why)); };
  if (e.codec != Codec::kZstd) return Internal("StreamFrameCopy of a raw copy");
  size_t first = static_cast<size_t>(std::min<uint64_t>(e.stored, kPiece));
  ASSIGN_OR_RETURN(EntryHead head, ReadEntryHead(c, id, first, bytes_read));
  const std::shared_ptr<Fd>& fd = head.fd;
  Hasher hasher;
  if (e.raw <= kPiece) {  // small: the whole frame, decompressed and hashed first
    std::string_view frame = head.stored();
    auto raw = std::make_unique_for_overwrite<char[]>(std::max<uint64_t>(e.raw, 1));
    Status st = DecompressStored(frame, raw.get(), e.raw);
    if (!st.ok()) return corrupt(st.message());
    hasher.Update(std::string_view(raw.get(), e.raw));
    if (hasher.Finish() != id) return corrupt("its bytes do not match its ID");
    *delivered = true;
    return sink(frame);
  }
  // Larger: each piece of the frame is decompressed (and hashed) whole, and
  // the one before it handed out; the last only after the hash matched.
  std::string cur(head.stored()), held;
  head.buf.reset();
  auto out = std::make_unique_for_overwrite<char[]>(kPiece);
  StreamDecompressor z;
  uint64_t read = first, made = 0;
  for (;;) {
    std::string_view left = cur;
    size_t n = 0;
    do {
      n = 0;
      Status st = z.Feed(left, out.get(), kPiece, &n);
      if (!st.ok()) return corrupt(st.message());
      made += n;
      if (made > e.raw) return corrupt("it holds more bytes than its index says");
      hasher.Update(out.get(), n);
    } while (!left.empty() || n == kPiece);
    if (!held.empty()) {
      *delivered = true;
      RETURN_IF_ERROR(sink(held));
    }
    std::swap(held, cur);
    if (read == e.stored) break;
    cur.resize(static_cast<size_t>(std::min<uint64_t>(kPiece, e.stored - read)));
    RETURN_IF_ERROR(
        ReadAt(c, fd->get(), cur.data(), cur.size(), e.offset + kPackEntryHeaderBytes + read));
    bytes_read.fetch_add(cur.size());
    read += cur.size();
  }
  if (!z.done()) return corrupt("its compressed frame is cut short");
  if (made != e.raw) return corrupt("it holds fewer bytes than its index says");
  if (hasher.Finish() != id) return corrupt("its bytes do not match its ID");
  *delivered = true;
  return sink(held);
}

}  // namespace converge
