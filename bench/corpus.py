#!/usr/bin/env python3
"""Deterministic, offline corpora for bench/run.sh.

  corpus.py build small|large DEST   make the corpus in DEST (must not exist)
  corpus.py edit DEST PERCENT        append a line to PERCENT% of the text files
  corpus.py unedit DEST PERCENT      take those lines off again
  corpus.py binary PATH MIB SEED     write a seeded pseudo-random file of MIB MiB
  corpus.py flip PATH                change the byte in the middle of PATH (twice: back)
  corpus.py digest DEST              one hash of DEST's paths, types and contents
                                     (.git and .converge at the top left out)
  corpus.py synthetic N DEST         N small files in N/10 directories (bench/million.sh)

Text comes from the source files of installed Debian packages (headers,
Python and Perl modules, CMake modules, docs), walked in sorted order and
copied byte for byte; the large corpus repeats that set with a one-line header
per copy so that every file is distinct. Binaries come from a seeded PRNG, so
the same machine always gives the same bytes.
"""
import os
import random
import sys

ROOTS = ["/usr/include", "/usr/lib/python3.11", "/usr/lib/python3", "/usr/share/perl",
         "/usr/share/cmake-3.25", "/usr/share/doc"]
EXTS = {".h", ".hpp", ".hh", ".c", ".cc", ".cpp", ".py", ".pl", ".pm", ".cmake", ".txt",
        ".md", ".rst", ".tcl", ".sh", ".inc", ".def", ".html", ".css", ".js"}
MIN_SIZE, MAX_SIZE = 64, 256 * 1024

# name -> (text files, binaries as (relative path, MiB, seed))
CORPORA = {
    "small": (5000, []),
    "large": (49997, [("assets/video-100m.bin", 100, 1), ("assets/model-150m.bin", 150, 2),
                      ("assets/blob-200m.bin", 200, 3)]),
}


def sources():
    """Every eligible text file, in a fixed order: (absolute path, corpus path)."""
    out = []
    for root in ROOTS:
        tag = root.strip("/").replace("/", "-")
        for d, dirs, files in os.walk(root):
            dirs.sort()
            for f in sorted(files):
                p = os.path.join(d, f)
                if os.path.islink(p) or os.path.splitext(f)[1] not in EXTS:
                    continue
                try:
                    size = os.path.getsize(p)
                    if not MIN_SIZE <= size <= MAX_SIZE:
                        continue
                    with open(p, "rb") as fh:
                        fh.read().decode("utf-8")
                except (OSError, UnicodeDecodeError):
                    continue
                out.append((p, os.path.join(tag, os.path.relpath(p, root))))
    return out


def write_binary(path, mib, seed):
    rng = random.Random(seed)
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "wb") as fh:
        for _ in range(mib):
            fh.write(rng.randbytes(1 << 20))


def build(kind, dest):
    want, binaries = CORPORA[kind]
    src = sources()
    if not src:
        sys.exit("corpus: no source files found under " + ", ".join(ROOTS))
    os.makedirs(dest)
    total = 0
    for i in range(want):
        copy, k = divmod(i, len(src))
        if kind == "small":  # spread the sample over every source tree
            copy, k = 0, i * len(src) // want
        path, rel = src[k]
        with open(path, "rb") as fh:
            data = fh.read()
        if copy:
            data = ("corpus copy %d of %s\n" % (copy, rel)).encode() + data
        out = os.path.join(dest, "copy%d" % copy, rel)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with open(out, "wb") as fh:
            fh.write(data)
        total += len(data)
    for rel, mib, seed in binaries:
        write_binary(os.path.join(dest, rel), mib, seed)
        total += mib << 20
    print("corpus %s: %d files, %.1f MB in %s" % (kind, want + len(binaries), total / 1e6, dest))


def text_files(dest):
    out = []
    for d, dirs, files in os.walk(dest):
        dirs[:] = sorted(x for x in dirs if x not in (".git", ".converge", "assets"))
        for f in sorted(files):
            if not f.endswith(".bin") and not f.startswith("."):
                out.append(os.path.join(d, f))
    return out


def edit(dest, percent):
    files = text_files(dest)
    step = max(1, round(100 / float(percent)))
    n = 0
    for i in range(0, len(files), step):
        with open(files[i], "ab") as fh:
            fh.write(b"\nbench edit %d\n" % i)
        n += 1
    print(n)


def unedit(dest, percent):
    files = text_files(dest)
    step = max(1, round(100 / float(percent)))
    n = 0
    for i in range(0, len(files), step):
        line = b"\nbench edit %d\n" % i
        with open(files[i], "r+b") as fh:
            data = fh.read()
            if data.endswith(line):
                fh.truncate(len(data) - len(line))
                n += 1
    print(n)


def synthetic(n, dest):
    """N files of text derived from their index alone, ten to a directory:
    DEST/dAAA/dBBBBB/fCCCCCCC.txt, a thousand leaf directories under each
    top one. Sizes vary from about 100 to 900 bytes; every 1000th file is
    about 16 KiB. One process, os.open/os.write: a million files take about a
    minute, most of it ext4 creating inodes."""
    import hashlib
    os.makedirs(dest)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    total, cur = 0, None
    for i in range(n):
        leaf = i // 10
        if leaf != cur:
            cur = leaf
            d = os.path.join(dest, "d%03d" % (leaf // 1000), "d%05d" % leaf)
            os.makedirs(d, exist_ok=True)
        h = hashlib.blake2b(b"%d" % i, digest_size=32).hexdigest()
        size = 100 + int(h[:4], 16) % 800
        if i % 1000 == 999:
            size = 16 * 1024
        head = b"synthetic file %d of the million-file tree\n" % i
        line = (h + "\n").encode()
        body = line * (size // len(line) + 1)
        data = head + body[:max(0, size - len(head))]
        fd = os.open(os.path.join(d, "f%07d.txt" % i), flags, 0o644)
        os.write(fd, data)
        os.close(fd)
        total += len(data)
    print("synthetic: %d files in %d directories, %.1f MB in %s" %
          (n, (n + 9) // 10, total / 1e6, dest))


def flip(path):
    size = os.path.getsize(path)
    with open(path, "r+b") as fh:
        fh.seek(size // 2)
        b = fh.read(1)
        fh.seek(size // 2)
        fh.write(bytes([b[0] ^ 0xFF]))


def digest(dest):
    """bench/run.sh checks with this that every round starts from the same
    tree: every directory and file under DEST (but the tools' metadata),
    its kind, size and bytes."""
    import hashlib
    h = hashlib.blake2b(digest_size=16)
    for d, dirs, files in os.walk(dest):
        if d == dest:
            dirs[:] = [x for x in dirs if x not in (".git", ".converge")]
        dirs.sort()
        rel = os.path.relpath(d, dest)
        h.update(b"d %s\0" % rel.encode())
        for f in sorted(files):
            p = os.path.join(d, f)
            if os.path.islink(p):
                h.update(b"l %s %s\0" % (f.encode(), os.readlink(p).encode()))
                continue
            h.update(b"f %s %d\0" % (f.encode(), os.path.getsize(p)))
            with open(p, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
    print(h.hexdigest())


def main(argv):
    if len(argv) == 3 and argv[0] == "build" and argv[1] in CORPORA:
        build(argv[1], argv[2])
    elif len(argv) == 3 and argv[0] == "edit":
        edit(argv[1], argv[2])
    elif len(argv) == 3 and argv[0] == "unedit":
        unedit(argv[1], argv[2])
    elif len(argv) == 4 and argv[0] == "binary":
        write_binary(argv[1], int(argv[2]), int(argv[3]))
    elif len(argv) == 3 and argv[0] == "synthetic":
        synthetic(int(argv[1]), argv[2])
    elif len(argv) == 2 and argv[0] == "digest":
        digest(argv[1])
    elif len(argv) == 2 and argv[0] == "flip":
        flip(argv[1])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
