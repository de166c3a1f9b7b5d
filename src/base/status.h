// Status and Result<T>: error values that cross layers instead of exceptions.
// A Status is ok, or carries a code (what kind of failure, which decides the
// HTTP status and exit code) and a message meant for a human: it names what
// failed and, where there is one, what to do next.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace converge {

enum class Code {
  kOk = 0,
  kInvalid,          // bad input: a malformed object, name, flag or request (400)
  kUnauthenticated,  // no, unknown, expired or revoked token (401)
  kPermission,       // authenticated but not allowed (403)
  kNotFound,         // no such thing, or not visible to the caller (404)
  kConflict,         // exists already, or would destroy uncaptured work (409)
  kTooLarge,         // over a configured limit (413)
  kCorrupt,          // hash mismatch or broken reference (422)
  kIo,               // the filesystem or database failed
  kUnavailable,      // a server could not be reached
  kRateLimited,      // too many failed attempts from one address: wait, then retry (429)
  kInternal,         // a bug or an impossible state
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  // Prefixes the message with context, keeping the code: "reading x: ...".
  Status With(const std::string& context) const {
    if (ok()) return *this;
    return Status(code_, context + ": " + message_);
  }

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

inline Status Invalid(std::string m) { return Status(Code::kInvalid, std::move(m)); }
inline Status NotFound(std::string m) { return Status(Code::kNotFound, std::move(m)); }
inline Status Conflict(std::string m) { return Status(Code::kConflict, std::move(m)); }
inline Status Corrupt(std::string m) { return Status(Code::kCorrupt, std::move(m)); }
inline Status IoError(std::string m) { return Status(Code::kIo, std::move(m)); }
inline Status Internal(std::string m) { return Status(Code::kInternal, std::move(m)); }
inline Status Permission(std::string m) { return Status(Code::kPermission, std::move(m)); }
inline Status Unauthenticated(std::string m) {
  return Status(Code::kUnauthenticated, std::move(m));
}
inline Status TooLarge(std::string m) { return Status(Code::kTooLarge, std::move(m)); }
inline Status Unavailable(std::string m) { return Status(Code::kUnavailable, std::move(m)); }

// Stable lowercase names for codes, used in JSON error bodies.
const char* CodeName(Code code);
Code CodeFromName(const std::string& name);

// A value or the Status that explains why there is none.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Status status) : v_(std::move(status)) { assert(!std::get<Status>(v_).ok()); }

  bool ok() const { return v_.index() == 0; }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace converge

#define CVG_CONCAT_INNER(a, b) a##b
#define CVG_CONCAT(a, b) CVG_CONCAT_INNER(a, b)

// Returns the Status from the enclosing function when `expr` fails.
#define RETURN_IF_ERROR(expr)                  \
  do {                                         \
    ::converge::Status _st = (expr);           \
    if (!_st.ok()) return _st;                 \
  } while (0)

// `ASSIGN_OR_RETURN(auto x, F());` declares x from F()'s value or returns its Status.
#define ASSIGN_OR_RETURN(lhs, expr) ASSIGN_OR_RETURN_IMPL(CVG_CONCAT(_res_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                          \
  if (!tmp.ok()) return tmp.status();         \
  lhs = std::move(tmp).value()
