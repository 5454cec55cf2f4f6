"""The safetensors format, read and written with numpy (no other dependency).

    [8 bytes]  N, little-endian u64: length of the JSON header
    [N bytes]  JSON: {"__metadata__": {str: str}, "<name>": {"dtype": "F32", "shape": [...],
               "data_offsets": [begin, end]}, ...}   (offsets relative to the data section)
    [...]      every tensor's bytes, row-major, little-endian, back to back

The reader checks the header the way tsgpt's reader does (known dtypes, byte counts that match
the shapes, tensors tiling the data section exactly) before it trusts any tensor.
"""
import json
import os

import numpy as np

from .atomic import write_file_atomic
from .errors import RunDirError

# dtype name → (numpy dtype of the stored bytes, bytes per element)
DTYPES = {
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "BF16": np.dtype("<u2"),  # raw bits; see to_float32
    "I32": np.dtype("<i4"),
    "I64": np.dtype("<i8"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("u1"),
}
MAX_HEADER_BYTES = 100_000_000


def _parse_header(path, fh, size):
    if size < 8:
        raise RunDirError(path, "header length", f"expected at least 8 bytes (a safetensors file), the file has {size}")
    n = int.from_bytes(fh.read(8), "little")
    if n > min(MAX_HEADER_BYTES, size - 8):
        raise RunDirError(path, "header length", f"{n} bytes does not fit in a file of {size} bytes")
    try:
        header = json.loads(fh.read(n).decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise RunDirError(path, "header", f"expected a JSON object in UTF-8 ({e})") from None
    if not isinstance(header, dict):
        raise RunDirError(path, "header", "expected a JSON object")
    metadata = header.pop("__metadata__", {}) or {}
    entries = []
    for name, e in header.items():
        dtype = e.get("dtype") if isinstance(e, dict) else None
        if dtype not in DTYPES:
            raise RunDirError(path, f"{name}.dtype", f"unsupported dtype {json.dumps(dtype)} (expected one of {', '.join(DTYPES)})")
        shape, offsets = e.get("shape"), e.get("data_offsets")
        if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
            raise RunDirError(path, f"{name}.shape", f"expected a list of non-negative integers, got {json.dumps(shape)}")
        if not isinstance(offsets, list) or len(offsets) != 2 or not all(isinstance(o, int) and o >= 0 for o in offsets):
            raise RunDirError(path, f"{name}.data_offsets", f"expected [begin, end], got {json.dumps(offsets)}")
        need = int(np.prod(shape, dtype=np.int64)) * DTYPES[dtype].itemsize
        if offsets[1] - offsets[0] != need:
            raise RunDirError(path, f"{name}.data_offsets", f"shape {shape} {dtype} needs {need} bytes, the range holds {offsets[1] - offsets[0]}")
        entries.append((offsets[0], offsets[1], name, dtype, shape))
    entries.sort()
    end = 0
    for begin, stop, name, _, _ in entries:
        if begin != end:
            raise RunDirError(path, f"{name}.data_offsets", f"starts at {begin}, expected {end} (a gap or an overlap)")
        end = stop
    if 8 + n + end != size:
        raise RunDirError(path, "data", f"tensors cover {end} bytes, the data section has {size - 8 - n} (truncated file or trailing bytes)")
    return 8 + n, entries, metadata


def read_safetensors(path):
    """All tensors of a file as numpy arrays (name → array), and the metadata."""
    path = os.fspath(path)
    try:
        size = os.path.getsize(path)
        fh = open(path, "rb")
    except FileNotFoundError:
        raise RunDirError(path, "file", "missing") from None
    with fh:
        start, entries, metadata = _parse_header(path, fh, size)
        out = {}
        for begin, stop, name, dtype, shape in entries:
            fh.seek(start + begin)
            out[name] = (dtype, np.frombuffer(fh.read(stop - begin), dtype=DTYPES[dtype]).reshape(shape))
    return out, metadata


def to_float32(path, name, dtype, array):
    """A float tensor of any stored float dtype as float32 (BF16 is the top half of an F32)."""
    if dtype == "F32":
        return array.astype(np.float32)
    if dtype == "F16":
        return array.astype(np.float32)
    if dtype == "BF16":
        return (array.astype(np.uint32) << 16).view(np.float32)
    raise RunDirError(path, name, f"dtype {dtype} is not a weight dtype (expected F32, F16 or BF16)")


def write_safetensors(path, tensors, metadata=None):
    """Writes name → float32/int numpy array, in the given order, atomically."""
    names = {np.dtype("<f4"): "F32", np.dtype("<i4"): "I32", np.dtype("<i8"): "I64"}
    header, offset, arrays = {}, 0, []
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name, array in tensors:
        a = np.ascontiguousarray(array)
        a = a.astype(a.dtype.newbyteorder("<"), copy=False)
        dtype = names.get(a.dtype)
        if dtype is None:
            raise TypeError(f"write_safetensors: {name}: dtype {a.dtype} is not written here")
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
        arrays.append(a)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # keeps the data section 8-byte aligned, as the reference writer does

    def write(fh):
        fh.write(len(text).to_bytes(8, "little"))
        fh.write(text)
        for a in arrays:
            fh.write(a.tobytes())

    write_file_atomic(path, write)
