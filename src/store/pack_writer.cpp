#include "store/pack_writer.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <functional>
#include <cstdlib>
#include <memory>
#include <string>

#include "base/random.h"

namespace converge {

namespace {

// Per batch under way: a server takes many pack uploads at once.
constexpr size_t kPackWriteBuffer = 256 << 10;
// Dirty pages past this are handed to write-back while the pack grows, so
// the fsync at the end has little left to wait for.
constexpr uint64_t kWriteBackStep = 4u << 20;

Status SyncData(int fd, const fs::path& path) {
  if (::fdatasync(fd) != 0) return ErrnoStatus("sync '" + path.string() + "'", errno);
  return Status::Ok();
}

void Step(const char* name) {
  if (pack_commit_step_hook) pack_commit_step_hook(name);
}

}  // namespace

PackWriter::PackWriter(fs::path root, uint64_t max_pack_bytes)
    : root_(std::move(root)), max_(max_pack_bytes), base_(RandomHex(16)) {}

PackWriter::~PackWriter() {
  if (!committed_) RemoveFiles();
}

void PackWriter::RemoveFiles() {
  for (const fs::path& p : temps_) ::unlink(p.c_str());
  for (const fs::path& p : placed_) ::unlink(p.c_str());
  temps_.clear();
  placed_.clear();
}

Status PackWriter::StartPack() {
  std::string name = base_ + "-" + std::to_string(names_.size()) + ".pack";
  fs::path temp = root_ / "tmp" / ("pack-" + name + ".tmp");
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
  if (fd < 0) return ErrnoStatus("create '" + temp.string() + "'", errno);
  fd_ = Fd(fd);
  names_.push_back(std::move(name));
  temps_.push_back(std::move(temp));
  size_ = written_ = hinted_ = 0;
  return Write(kPackFileMagic);
}

Status PackWriter::Flush() {
  if (buf_.empty()) return Status::Ok();
  RETURN_IF_ERROR(WriteAll(fd_.get(), buf_, "'" + temps_.back().string() + "'"));
  written_ += buf_.size();
  buf_.clear();
  if (written_ - hinted_ >= kWriteBackStep) {
    // A hint only: an error here changes nothing the final sync checks.
    ::sync_file_range(fd_.get(), static_cast<off_t>(hinted_),
                      static_cast<off_t>(written_ - hinted_), SYNC_FILE_RANGE_WRITE);
    hinted_ = written_;
  }
  return Status::Ok();
}

Status PackWriter::Write(std::string_view data) {
  size_ += data.size();
  total_ += data.size();
  if (buf_.size() + data.size() > kPackWriteBuffer) RETURN_IF_ERROR(Flush());
  if (data.size() < kPackWriteBuffer) {
    buf_.append(data);
    return Status::Ok();
  }
  RETURN_IF_ERROR(WriteAll(fd_.get(), data, "'" + temps_.back().string() + "'"));
  written_ += data.size();
  return Status::Ok();
}

Status PackWriter::SyncSealed() {
  if (!sealed_.valid()) return Status::Ok();
  const fs::path& path = temps_[sealed_index_];
  RETURN_IF_ERROR(SyncData(sealed_.get(), path));
  if (::close(sealed_.release()) != 0) return ErrnoStatus("close '" + path.string() + "'", errno);
  return Status::Ok();
}

Status PackWriter::RollPack() {
  RETURN_IF_ERROR(Flush());
  // The full pack's sync waits for the next roll or Commit: made here, under
  // the batch's lock, it stalled every capturing thread (~0.2 s a roll in a
  // 1 GiB cold snap). Its write-back starts now, so that sync finds little.
  ::sync_file_range(fd_.get(), static_cast<off_t>(hinted_), static_cast<off_t>(written_ - hinted_),
                    SYNC_FILE_RANGE_WRITE);
  RETURN_IF_ERROR(SyncSealed());
  sealed_ = std::move(fd_);
  sealed_index_ = names_.size() - 1;
  return Status::Ok();
}

Status PackWriter::SealPack() {
  RETURN_IF_ERROR(SyncSealed());
  if (!fd_.valid()) return Status::Ok();
  RETURN_IF_ERROR(Flush());
  std::string().swap(buf_);
  RETURN_IF_ERROR(SyncData(fd_.get(), temps_.back()));
  if (::close(fd_.release()) != 0)
    return ErrnoStatus("close '" + temps_.back().string() + "'", errno);
  return Status::Ok();
}

Status PackWriter::Append(const ObjectId& id, uint8_t kind, Codec codec, uint64_t raw,
                          std::string_view stored) {
  if (committed_) return Internal("append to a committed pack");
  uint64_t need = kPackEntryHeaderBytes + stored.size();
  if (fd_.valid() && size_ > kPackFileMagic.size() && size_ + need > max_)
    RETURN_IF_ERROR(RollPack());
  if (!fd_.valid()) RETURN_IF_ERROR(StartPack());
  entries_.push_back(
      {id, static_cast<uint32_t>(names_.size() - 1), kind, codec, size_, stored.size(), raw});
  Index(static_cast<uint32_t>(entries_.size() - 1));
  RETURN_IF_ERROR(Write(EncodeEntryHeader({kind, codec, raw, stored.size(), id})));
  return Write(stored);
}

Status PackWriter::AppendFile(const ObjectId& id, uint8_t kind, int fd, uint64_t size) {
  if (committed_) return Internal("append to a committed pack");
  uint64_t need = kPackEntryHeaderBytes + size;
  if (fd_.valid() && size_ > kPackFileMagic.size() && size_ + need > max_)
    RETURN_IF_ERROR(RollPack());
  if (!fd_.valid()) RETURN_IF_ERROR(StartPack());
  entries_.push_back(
      {id, static_cast<uint32_t>(names_.size() - 1), kind, Codec::kRaw, size_, size, size});
  Index(static_cast<uint32_t>(entries_.size() - 1));
  RETURN_IF_ERROR(Write(EncodeEntryHeader({kind, Codec::kRaw, size, size, id})));
  if (::lseek(fd, 0, SEEK_SET) != 0) return ErrnoStatus("rewind object " + id.hex(), errno);
  auto piece = std::make_unique_for_overwrite<char[]>(kPackWriteBuffer);
  uint64_t left = size;
  while (left > 0) {
    ASSIGN_OR_RETURN(size_t n, ReadSome(fd, piece.get(), std::min<uint64_t>(left, kPackWriteBuffer),
                                        "object " + id.hex()));
    if (n == 0) return IoError("object " + id.hex() + " shrank while it was packed");
    RETURN_IF_ERROR(Write(std::string_view(piece.get(), n)));
    left -= n;
  }
  return Status::Ok();
}

namespace {

// IDs are hashes: their first bytes are uniformly distributed already.
size_t SlotOf(const ObjectId& id, size_t mask) { return std::hash<ObjectId>()(id) & mask; }

}  // namespace

void PackWriter::Index(uint32_t position) {
  if ((static_cast<size_t>(position) + 1) * 2 > slots_.size()) {
    std::vector<uint32_t> old = std::move(slots_);
    slots_.assign(std::max<size_t>(1024, old.size() * 2), 0);
    for (uint32_t p : old)
      if (p != 0) Index(p - 1);
  }
  size_t mask = slots_.size() - 1;
  for (size_t i = SlotOf(entries_[position].id, mask);; i = (i + 1) & mask) {
    if (slots_[i] == 0) {
      slots_[i] = position + 1;
      return;
    }
  }
}

const PackEntry* PackWriter::Find(const ObjectId& id) const {
  if (slots_.empty()) return nullptr;
  size_t mask = slots_.size() - 1;
  for (size_t i = SlotOf(id, mask);; i = (i + 1) & mask) {
    if (slots_[i] == 0) return nullptr;
    const PackEntry& e = entries_[slots_[i] - 1];
    if (e.id == id) return &e;
  }
}

Result<std::string> PackWriter::Commit() {
  if (committed_) return Internal("pack committed twice");
  if (entries_.empty()) return Internal("commit of an empty pack");
  RETURN_IF_ERROR(SealPack());
  Step("sealed");
  std::vector<uint32_t>().swap(slots_);
  std::sort(entries_.begin(), entries_.end(),
            [](const PackEntry& a, const PackEntry& b) { return a.id < b.id; });
  std::string index_name = base_ + ".idx";
  fs::path index_temp = root_ / "tmp" / ("pack-" + index_name + ".tmp");
  {
    int fd = ::open(index_temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
    if (fd < 0) return ErrnoStatus("create '" + index_temp.string() + "'", errno);
    Fd owner(fd);
    temps_.push_back(index_temp);
    RETURN_IF_ERROR(StreamPackIndex(
        names_, entries_.size(), [&](size_t i) -> const PackEntry& { return entries_[i]; },
        [&](std::string_view piece) {
          return WriteAll(fd, piece, "'" + index_temp.string() + "'");
        }));
    std::deque<PackEntry>().swap(entries_);
    RETURN_IF_ERROR(SyncData(fd, index_temp));
    if (::close(owner.release()) != 0)
      return ErrnoStatus("close '" + index_temp.string() + "'", errno);
  }
  Step("index-written");
  fs::path packs = root_ / "packs";
  for (size_t i = 0; i < names_.size(); i++) {
    fs::path to = packs / names_[i];
    if (::rename(temps_[i].c_str(), to.c_str()) != 0)
      return ErrnoStatus("store pack '" + to.string() + "'", errno);
    placed_.push_back(to);
  }
  temps_.erase(temps_.begin(), temps_.begin() + static_cast<ptrdiff_t>(names_.size()));
  RETURN_IF_ERROR(FsyncDir(packs));
  Step("packs-renamed");
  if (::rename(index_temp.c_str(), (packs / index_name).c_str()) != 0)
    return ErrnoStatus("store pack index '" + (packs / index_name).string() + "'", errno);
  // Visible from here on: never removed, whatever happens next.
  committed_ = true;
  temps_.clear();
  placed_.clear();
  Step("index-renamed");
  RETURN_IF_ERROR(FsyncDir(packs));
  return index_name;
}

void ArmStepKillFromEnvironment() {
  const char* at = std::getenv("CONVERGE_TEST_KILL_AT");
  if (!at || !*at) return;
  static const std::string step = at;
  pack_commit_step_hook = [](const char* name) {
    if (step == name) ::raise(SIGKILL);
  };
}

}  // namespace converge
