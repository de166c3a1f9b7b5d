#include "store/object_records.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <map>
#include <set>
#include <tuple>
#include <utility>

#include "base/hex.h"

namespace converge {

int64_t KindCode(ObjectKind kind) {
  switch (kind) {
    case ObjectKind::kBlob: return 1;
    case ObjectKind::kChunkList: return 2;
    case ObjectKind::kManifest: return 3;
    case ObjectKind::kSnap: return 4;
  }
  return 0;
}

std::optional<ObjectKind> KindFromCode(int64_t code) {
  switch (code) {
    case 1: return ObjectKind::kBlob;
    case 2: return ObjectKind::kChunkList;
    case 3: return ObjectKind::kManifest;
    case 4: return ObjectKind::kSnap;
    default: return std::nullopt;
  }
}

namespace {

// The batch sizes a statement over many objects is prepared for: a few
// shapes, so that each connection prepares (and PostgreSQL plans) a handful
// of statements, not one per count.
constexpr std::array<size_t, 5> kShapes = {ObjectRecords::kBatch, 64, 16, 4, 1};

// The largest shape of at most `n` objects (n > 0).
size_t ShapeAtMost(size_t n) {
  for (size_t s : kShapes)
    if (s <= n) return s;
  return 1;
}

// The smallest shape of at least `n` objects (0 < n <= kBatch).
size_t ShapeAtLeast(size_t n) {
  size_t best = kShapes[0];
  for (size_t s : kShapes)
    if (s >= n) best = s;
  return best;
}

// "?, ?, ?": `n` placeholders.
std::string Marks(size_t n) {
  std::string out = "?";
  for (size_t i = 1; i < n; i++) out += ", ?";
  return out;
}

// `row` `n` times, joined by ", ".
std::string Repeated(size_t n, const std::string& row) {
  std::string out;
  for (size_t r = 0; r < n; r++) out += (r ? ", " : "") + row;
  return out;
}

// "(?, ?), (?, ?)": `rows` groups of `width` placeholders.
std::string Tuples(size_t rows, size_t width) {
  return Repeated(rows, "(" + Marks(width) + ")");
}

// The text of a statement over `n` objects (a shape), made by `make` once
// per shape and call site (each lambda is a type of its own) and kept.
template <class Make>
const std::string& Shaped(size_t n, Make make) {
  static const auto* texts = [&] {
    auto* m = new std::map<size_t, std::string>;
    for (size_t s : kShapes) (*m)[s] = make(s);
    return m;
  }();
  return texts->at(n);
}

// "(VALUES (CAST(? AS BIGINT), CAST(? AS INTEGER), ?), ...) AS v": `n`
// (repo, kind, ID) rows. PostgreSQL takes a VALUES column's type from its
// first row, text for an untyped parameter: the ID is cast to BYTEA there
// (SQLite has no such type name, and a bound BLOB needs no cast).
std::string HeldValues(size_t n, bool pg) {
  return "(VALUES " +
         Repeated(n, pg ? "(CAST(? AS BIGINT), CAST(? AS INTEGER), CAST(? AS BYTEA))"
                        : "(CAST(? AS BIGINT), CAST(? AS INTEGER), ?)") +
         ") AS v";
}

// The ID in a BLOB column, or nullopt when it is not 32 bytes.
std::optional<ObjectId> IdAt(const Stmt& q, int col) {
  std::string b = q.Blob(col);
  if (b.size() != ObjectId::kBytes) return std::nullopt;
  std::array<unsigned char, ObjectId::kBytes> raw;
  std::copy(b.begin(), b.end(), raw.begin());
  return ObjectId(raw);
}

// The sizes of a row whose columns `col`, `col + 1`, `col + 2` are size,
// content_size and depth.
HeldObject SizesAt(const Stmt& q, int col) {
  HeldObject h{static_cast<uint64_t>(q.Int(col)), static_cast<uint64_t>(q.Int(col + 1))};
  if (q.IsNull(col + 2))
    h.depth.reset();
  else
    h.depth = static_cast<uint64_t>(q.Int(col + 2));
  return h;
}

// Kind and ID in columns 0 and 1, sizes from column 2 (unless NULL).
ObjectRow RowOf(const Stmt& q) {
  int64_t code = q.Int(0);
  std::string bytes = q.Blob(1);
  std::optional<ObjectKind> kind = KindFromCode(code);
  ObjectRow r{kind ? KindName(*kind) : "kind " + std::to_string(code),
              ToHex(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size()), kind,
              IdAt(q, 1), {}};
  if (!q.IsNull(2)) r.sizes = SizesAt(q, 2);
  return r;
}

// Walks a query ordered by (kind, id) or (id, kind) a page at a time: `bind`
// binds where the next page starts (after the kind code and ID bytes given:
// 0 and "" before every row) and how many rows a page holds; a short page is
// the last. One page at a time is in memory (PostgreSQL hands over a
// statement's whole result), however many rows there are.
Status EachRowPaged(
    Stmt& q, int64_t page,
    const std::function<void(Stmt&, int64_t kind, const std::string& id)>& bind,
    const std::function<Status(const ObjectRow&)>& fn) {
  int64_t kind = 0;
  std::string id;
  for (;;) {
    q.Reset();
    bind(q, kind, id);
    int64_t rows = 0;
    for (;;) {
      ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      rows++;
      ObjectRow r = RowOf(q);
      kind = q.Int(0);
      id = q.Blob(1);
      RETURN_IF_ERROR(fn(r));
    }
    if (rows < page) return Status::Ok();
  }
}

}  // namespace

Result<std::optional<HeldObject>> ObjectRecords::Held(int64_t repo_id, ObjectKind kind,
                                                      const ObjectId& id) {
  ASSIGN_OR_RETURN(Stmt q, db_.Prepare("SELECT o.size, o.content_size, o.depth FROM repo_objects r "
                                       "JOIN objects o ON o.id = r.object_id AND o.kind = r.kind "
                                       "WHERE r.repo_id = ? AND r.kind = ? AND r.object_id = ?"));
  q.Bind(1, repo_id).Bind(2, KindCode(kind)).BindBlob(3, IdBytes(id));
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return std::optional<HeldObject>();
  return std::optional<HeldObject>(SizesAt(q, 0));
}

Result<HeldObjects> ObjectRecords::HeldAmong(int64_t repo_id, const std::vector<ObjectRef>& refs) {
  HeldObjects out;
  for (size_t at = 0; at < refs.size();) {
    size_t left = refs.size() - at, n = left >= kBatch ? kBatch : ShapeAtLeast(left);
    // Each object as a VALUES row holding the whole key of repo_objects,
    // rather than `repo_id = ? AND kind = ? AND object_id IN (...)` (one
    // query per kind, and with no statistics yet PostgreSQL compared every
    // object of the repo with every ID). On PostgreSQL each row goes through
    // a LATERAL subquery with LIMIT 1, which cannot be pulled up into a join:
    // as a plain join it was estimated at one row and, in a repo of some
    // thousands of objects, answered by hashing the VALUES and scanning both
    // tables whole per statement (a 1% publish of 50,000 files: 1.9 s in the
    // server). This way each row is two primary-key probes whatever the
    // statistics say: the cost follows the rows asked, never the repo's size.
    // SQLite (no LATERAL) probes the primary keys for each row anyway. Both
    // engines name VALUES columns column1, column2, ...
    // Shaped keeps one text per lambda: one lambda per engine.
    const std::string& text =
        db_.engine() == DbEngine::kPostgres
            ? Shaped(n,
                     [](size_t s) {
                       return "SELECT x.kind, x.object_id, x.size, x.content_size, x.depth FROM " +
                              HeldValues(s, true) +
                              " CROSS JOIN LATERAL (SELECT r.kind, r.object_id, o.size, "
                              "o.content_size, o.depth FROM repo_objects r JOIN objects o ON "
                              "o.id = r.object_id AND o.kind = r.kind WHERE r.repo_id = v.column1 "
                              "AND r.kind = v.column2 AND r.object_id = v.column3 LIMIT 1) AS x";
                     })
            : Shaped(n, [](size_t s) {
                return "SELECT r.kind, r.object_id, o.size, o.content_size, o.depth FROM " +
                       HeldValues(s, false) +
                       " JOIN repo_objects r ON r.repo_id = v.column1 AND r.kind = v.column2 AND "
                       "r.object_id = v.column3 JOIN objects o ON o.id = r.object_id AND o.kind = "
                       "r.kind";
              });
    ASSIGN_OR_RETURN(Stmt q, db_.Prepare(text));
    // A short last batch repeats its last object to fill the shape.
    for (size_t i = 0; i < n; i++) {
      const ObjectRef& ref = refs[at + std::min(i, left - 1)];
      int c = static_cast<int>(3 * i);
      q.Bind(c + 1, repo_id).Bind(c + 2, KindCode(ref.kind)).BindBlob(c + 3, IdBytes(ref.id));
    }
    for (;;) {
      ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      std::optional<ObjectKind> kind = KindFromCode(q.Int(0));
      std::optional<ObjectId> id = IdAt(q, 1);
      if (kind && id) out[{*kind, *id}] = SizesAt(q, 2);
    }
    at += std::min(n, left);
  }
  return out;
}

Result<uint64_t> ObjectRecords::Link(int64_t repo_id, const std::vector<NewObject>& objects) {
  // Each object once (PostgreSQL refuses an upsert that meets one row twice),
  // and in each table's key order: random IDs inserted in any order touch a
  // random page of the table per row, and past the page cache every touch is
  // a read and a spilled write; in key order each page is visited once. At a
  // million objects that was two thirds of a publish's server time.
  std::vector<const NewObject*> todo;
  todo.reserve(objects.size());
  for (const NewObject& o : objects) todo.push_back(&o);
  auto by_id = [](const NewObject* a, const NewObject* b) {
    return std::tie(a->id, a->kind) < std::tie(b->id, b->kind);
  };
  std::sort(todo.begin(), todo.end(), by_id);
  todo.erase(std::unique(todo.begin(), todo.end(),
                         [](const NewObject* a, const NewObject* b) {
                           return a->id == b->id && a->kind == b->kind;
                         }),
             todo.end());
  for (size_t at = 0; at < todo.size();) {
    size_t n = ShapeAtMost(todo.size() - at);
    ASSIGN_OR_RETURN(Stmt obj, db_.Prepare(Shaped(n, [](size_t s) {
      return "INSERT INTO objects (id, kind, size, content_size, depth) VALUES " + Tuples(s, 5) +
             " ON CONFLICT (id, kind) DO UPDATE SET depth = excluded.depth "
             "WHERE objects.depth IS NULL";
    })));
    for (size_t i = 0; i < n; i++) {
      const NewObject& o = *todo[at + i];
      int c = static_cast<int>(5 * i);
      obj.BindBlob(c + 1, IdBytes(o.id)).Bind(c + 2, KindCode(o.kind));
      obj.Bind(c + 3, static_cast<int64_t>(o.sizes.size))
          .Bind(c + 4, static_cast<int64_t>(o.sizes.content_size))
          .Bind(c + 5, static_cast<int64_t>(o.sizes.depth.value_or(0)));
    }
    RETURN_IF_ERROR(obj.Run());
    at += n;
  }
  // repo_objects' key is (repo_id, kind, object_id).
  std::stable_sort(todo.begin(), todo.end(), [](const NewObject* a, const NewObject* b) {
    return KindCode(a->kind) < KindCode(b->kind);
  });
  uint64_t added = 0;
  for (size_t at = 0; at < todo.size();) {
    size_t n = ShapeAtMost(todo.size() - at);
    // RETURNING yields a row only for a link that was not there before.
    ASSIGN_OR_RETURN(Stmt link, db_.Prepare(Shaped(n, [](size_t s) {
      return "INSERT INTO repo_objects (repo_id, kind, object_id) VALUES " + Tuples(s, 3) +
             " ON CONFLICT (repo_id, kind, object_id) DO NOTHING RETURNING repo_id";
    })));
    for (size_t i = 0; i < n; i++) {
      const NewObject& o = *todo[at + i];
      int l = static_cast<int>(3 * i);
      link.Bind(l + 1, repo_id).Bind(l + 2, KindCode(o.kind)).BindBlob(l + 3, IdBytes(o.id));
    }
    for (;;) {
      ASSIGN_OR_RETURN(bool row, link.Step());
      if (!row) break;
      added++;
    }
    at += n;
  }
  return added;
}

// Keyset pages in primary-key order: each page starts after the last row of
// the one before (a row comparison both engines answer from the key's index).
Status ObjectRecords::ForEachObject(const std::function<Status(const ObjectRow&)>& fn) {
  ASSIGN_OR_RETURN(Stmt q, db_.Prepare("SELECT kind, id, size, content_size, depth FROM objects "
                                       "WHERE (id, kind) > (?, ?) ORDER BY id, kind LIMIT ?"));
  int64_t page = page_rows_;
  return EachRowPaged(
      q, page,
      [page](Stmt& s, int64_t kind, const std::string& id) {
        s.BindBlob(1, id).Bind(2, kind).Bind(3, page);
      },
      fn);
}

Status ObjectRecords::ForEachHeld(int64_t repo_id,
                                  const std::function<Status(const ObjectRow&)>& fn) {
  ASSIGN_OR_RETURN(Stmt q, db_.Prepare("SELECT r.kind, r.object_id, o.size, o.content_size, "
                                       "o.depth FROM repo_objects r LEFT JOIN objects o ON "
                                       "o.id = r.object_id AND o.kind = r.kind "
                                       "WHERE r.repo_id = ? AND (r.kind, r.object_id) > (?, ?) "
                                       "ORDER BY r.kind, r.object_id LIMIT ?"));
  int64_t page = page_rows_;
  return EachRowPaged(
      q, page,
      [repo_id, page](Stmt& s, int64_t kind, const std::string& id) {
        s.Bind(1, repo_id).Bind(2, kind).BindBlob(3, id).Bind(4, page);
      },
      fn);
}

Result<uint64_t> ObjectRecords::Count() {
  ASSIGN_OR_RETURN(Stmt q, db_.Prepare("SELECT COUNT(*) FROM objects"));
  ASSIGN_OR_RETURN(bool row, q.Step());
  return row ? static_cast<uint64_t>(q.Int(0)) : uint64_t{0};
}

Result<std::vector<ObjectRef>> ObjectRecords::Unmeasured() {
  // The partial index objects_unmeasured makes this free once all are measured.
  ASSIGN_OR_RETURN(Stmt q, db_.Prepare("SELECT id, kind FROM objects WHERE depth IS NULL"));
  std::vector<ObjectRef> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    std::optional<ObjectId> id = IdAt(q, 0);
    std::optional<ObjectKind> kind = KindFromCode(q.Int(1));
    if (id && kind) out.push_back({*kind, *id});
  }
  return out;
}

Status ObjectRecords::SetDepth(ObjectKind kind, const ObjectId& id, uint64_t depth) {
  ASSIGN_OR_RETURN(Stmt q, db_.Prepare("UPDATE objects SET depth = ? WHERE id = ? AND kind = ?"));
  return q.Bind(1, static_cast<int64_t>(depth)).BindBlob(2, IdBytes(id)).Bind(3, KindCode(kind)).Run();
}

Status ObjectRecords::Unlink(int64_t repo_id, ObjectKind kind, const ObjectId& id) {
  ASSIGN_OR_RETURN(Stmt q, db_.Prepare("DELETE FROM repo_objects WHERE repo_id = ? AND kind = ? "
                                       "AND object_id = ?"));
  return q.Bind(1, repo_id).Bind(2, KindCode(kind)).BindBlob(3, IdBytes(id)).Run();
}

Status ObjectRecords::DropIfUnheld(ObjectKind kind, const ObjectId& id) {
  ASSIGN_OR_RETURN(Stmt q, db_.Prepare("DELETE FROM objects WHERE id = ? AND kind = ? AND NOT "
                                       "EXISTS (SELECT 1 FROM repo_objects WHERE object_id = ? "
                                       "AND kind = ?)"));
  std::string_view bytes = IdBytes(id);
  int64_t code = KindCode(kind);
  return q.BindBlob(1, bytes).Bind(2, code).BindBlob(3, bytes).Bind(4, code).Run();
}

}  // namespace converge
