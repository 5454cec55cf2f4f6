"""tsgpt's token cache: a tokenized corpus in one binary file (src/train/token_cache.ts).

    offset  size  field
    0       8     magic "TSGPTTOK"
    8       4     version (u32 little-endian) = 1
    12      4     dtype: 2 = uint16 ids, 4 = uint32 ids (bytes per id)
    16      8     count: number of ids (u64)
    24      32    sha256 of the tokenizer .model bytes
    56      32    sha256 of the source text
    88      8     reserved, zero (keeps the ids 8-byte aligned)
    96      ...   the ids, little-endian, back to back

The ids are memory-mapped, not read: a corpus larger than memory works, and every rank of a
node shares the same pages.
"""
import glob
import hashlib
import os
import re

import numpy as np

from .errors import RunDirError

MAGIC = b"TSGPTTOK"
VERSION = 1
HEADER_BYTES = 96


def read_header(path):
    """The checked header of a cache file: version, bytes_per_id, count, tokenizer/source sha256."""
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as fh:
            head = fh.read(HEADER_BYTES)
    except FileNotFoundError:
        raise RunDirError(path, "file", "missing") from None
    if len(head) < HEADER_BYTES:
        raise RunDirError(path, "header", f"expected at least {HEADER_BYTES} bytes, the file has {size}")
    if head[:8] != MAGIC:
        raise RunDirError(path, "magic", f'expected "TSGPTTOK", got {head[:8]!r} (not a tsgpt token cache)')
    version = int.from_bytes(head[8:12], "little")
    if version != VERSION:
        raise RunDirError(path, "version", f"expected {VERSION}, got {version} (a cache from another tsgpt version: let tsgpt rebuild it)")
    bytes_per_id = int.from_bytes(head[12:16], "little")
    if bytes_per_id not in (2, 4):
        raise RunDirError(path, "dtype", f"expected 2 (uint16) or 4 (uint32) bytes per id, got {bytes_per_id}")
    count = int.from_bytes(head[16:24], "little")
    if HEADER_BYTES + count * bytes_per_id != size:
        raise RunDirError(path, "count", f"{count} ids of {bytes_per_id} bytes need {HEADER_BYTES + count * bytes_per_id} bytes, "
                                         f"the file has {size} (truncated or corrupt)")
    return {
        "version": version, "bytes_per_id": bytes_per_id, "count": count,
        "tokenizer_sha256": head[24:56].hex(), "source_sha256": head[56:88].hex(),
    }


def read_token_cache(path, tokenizer_sha256=None, vocab_size=None):
    """The ids of a cache file (a read-only memory map), after checking the header.

    With ``tokenizer_sha256`` the cache must come from that tokenizer; with ``vocab_size``
    every id must be below it (one pass over the ids).
    """
    header = read_header(path)
    if tokenizer_sha256 is not None and header["tokenizer_sha256"] != tokenizer_sha256:
        raise RunDirError(path, "tokenizer checksum", "the cache was made with a different tokenizer than the checkpoint's tokenizer.model")
    dtype = np.dtype("<u2") if header["bytes_per_id"] == 2 else np.dtype("<u4")
    ids = np.memmap(path, dtype=dtype, mode="r", offset=HEADER_BYTES, shape=(header["count"],)) if header["count"] else np.zeros(0, dtype)
    if vocab_size is not None and len(ids) and int(ids.max()) >= vocab_size:
        i = int(np.argmax(ids >= vocab_size))
        raise RunDirError(path, f"ids[{i}]", f"id {int(ids[i])} is outside the vocabulary [0, {vocab_size})")
    return header, ids


def find_token_cache(cache_dir, data_files, tokenizer_path):
    """The cache tsgpt made for this run: cache/<data file name>.<tokenizer sha256[:12]>.tokens.

    The name rule is tsgpt's (src/train/corpus.ts); the tokenizer checksum is of the checkpoint's
    tokenizer.model, so a cache from another tokenizer is never picked.
    """
    with open(tokenizer_path, "rb") as fh:
        tok_sha = hashlib.sha256(fh.read()).hexdigest()
    first = os.path.basename(data_files[0]) if data_files else "corpus"
    name = re.sub(r"[^A-Za-z0-9._-]", "_", first) + f".{tok_sha[:12]}.tokens"
    path = os.path.join(cache_dir, name)
    if not os.path.exists(path):
        found = sorted(os.path.basename(p) for p in glob.glob(os.path.join(cache_dir, "*.tokens")))
        raise RunDirError(path, "file", f"missing: the run's token cache (found: {', '.join(found) or 'none'}); "
                                        "run `tsgpt train` once on this machine to build it, or pass --cache FILE")
    return path, tok_sha
