// ObjectWriter (declared in store/cas.h): one object's bytes, hashed as they
// come, in memory while small and the memory budget allows, else in a temp
// file.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "store/cas.h"
#include "store/memory_budget.h"

namespace converge {

namespace {
constexpr size_t kWriteBuffer = 256 << 10;
constexpr uint64_t kSpillBytes = 8u << 20;
}  // namespace

ObjectWriter::ObjectWriter(ObjectWriter&& o) noexcept
    : tmp_dir_(std::move(o.tmp_dir_)),
      buf_(std::move(o.buf_)),
      temp_(std::exchange(o.temp_, {})),
      fd_(std::move(o.fd_)),
      hasher_(o.hasher_),
      size_(o.size_),
      budget_(std::exchange(o.budget_, 0)),
      id_(o.id_) {}

ObjectWriter::~ObjectWriter() {
  ReleaseBudget();
  if (!temp_.empty()) ::unlink(temp_.c_str());
}

bool ObjectWriter::Budget(uint64_t total) {
  if (total <= budget_) return true;
  if (!MemoryBudget::Global().TryTake(total - budget_)) return false;
  budget_ = total;
  return true;
}

void ObjectWriter::ReleaseBudget() {
  MemoryBudget::Global().Give(budget_);
  budget_ = 0;
}

void ObjectWriter::Reserve(uint64_t size) {
  if (!spilled() && size <= kSpillBytes && size > buf_.capacity() && Budget(size))
    buf_.reserve(static_cast<size_t>(size));
}

Status ObjectWriter::Spill() {
  fs::path temp = tmp_dir_ / TempName("obj");
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus("create '" + temp.string() + "'", errno);
  fd_ = Fd(fd);
  temp_ = std::move(temp);
  RETURN_IF_ERROR(Flush());
  std::string().swap(buf_);  // from here on only a write buffer
  ReleaseBudget();
  return Status::Ok();
}

Status ObjectWriter::Append(std::string_view data) {
  if (id_) return Internal("append to a finished object writer");
  hasher_.Update(data);
  size_ += data.size();
  if (!spilled()) {
    uint64_t total = buf_.size() + data.size();
    if (total <= kSpillBytes && Budget(total)) {
      buf_.append(data);
      return Status::Ok();
    }
    RETURN_IF_ERROR(Spill());
  }
  // Appends gather first: network pieces are small, and a write() per
  // piece costs a syscall and a partial-page zeroing each.
  if (buf_.size() + data.size() > kWriteBuffer) RETURN_IF_ERROR(Flush());
  if (data.size() >= kWriteBuffer) return WriteAll(fd_.get(), data, "'" + temp_.string() + "'");
  buf_.append(data);
  return Status::Ok();
}

Status ObjectWriter::Flush() {
  Status st = WriteAll(fd_.get(), buf_, "'" + temp_.string() + "'");
  buf_.clear();
  return st;
}

Result<ObjectId> ObjectWriter::Finish(const std::optional<ObjectId>& expected) {
  if (id_) return *id_;
  ObjectId id = hasher_.Finish();
  if (spilled()) {
    RETURN_IF_ERROR(Flush());
    std::string().swap(buf_);
    if (::close(fd_.release()) != 0) return ErrnoStatus("close '" + temp_.string() + "'", errno);
  }
  if (expected && *expected != id) {
    if (spilled()) ::unlink(temp_.c_str());
    temp_.clear();
    std::string().swap(buf_);
    ReleaseBudget();
    return Corrupt("object " + expected->hex() + " does not match its content (which hashes to " +
                   id.hex() + ")");
  }
  id_ = id;
  return id;
}

std::optional<std::string_view> ObjectWriter::Held() const {
  if (!id_ || spilled()) return std::nullopt;
  return std::string_view(buf_);
}

Status ObjectWriter::ToFile() {
  if (spilled()) return Status::Ok();
  RETURN_IF_ERROR(Spill());
  return ::close(fd_.release()) == 0 ? Status::Ok()
                                     : ErrnoStatus("close '" + temp_.string() + "'", errno);
}

}  // namespace converge
