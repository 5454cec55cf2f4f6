"""Atomic file writes: write a temporary file beside the target, fsync, rename.

A process killed at any moment leaves either the old file or the new one under the real name,
never half of one (the same rule as tsgpt's src/formats/atomic.ts).
"""
import os
import secrets


def write_file_atomic(path, write):
    """Calls ``write(fh)`` on a temporary file, then renames it to ``path``."""
    path = os.fspath(path)
    folder, name = os.path.split(path)
    tmp = os.path.join(folder, f".{name}.tmp-{secrets.token_hex(6)}")
    try:
        with open(tmp, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_bytes_atomic(path, data):
    write_file_atomic(path, lambda fh: fh.write(data))


def sync_dir(path):
    """fsyncs a directory so a rename inside it is durable (not every platform allows it)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
