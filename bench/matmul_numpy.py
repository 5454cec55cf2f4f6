"""Times numpy matmul for bench/matmul.ts, which drives it over stdin/stdout.

Protocol, one request per line:  <batch> <m> <n> <k> <threads> <min_seconds>
reply: the median seconds per call over timed runs lasting at least min_seconds in all.
The first line written is a description of the BLAS numpy uses.
Run it with the system Python (/usr/bin/python3) so numpy uses Debian's OpenBLAS.
"""
import ctypes
import sys
import time

import numpy as np


def find_blas():
    """The BLAS library loaded into this process, and a function to set its thread count."""
    np.ones((2, 2), np.float32) @ np.ones((2, 2), np.float32)  # make sure BLAS is loaded
    paths = []
    with open("/proc/self/maps") as maps:
        for line in maps:
            path = line.split()[-1]
            if ("blas" in path or "blis" in path or "mkl" in path) and path not in paths:
                paths.append(path)
    paths.sort(key=lambda p: 0 if "libblas" in p or "libopenblas" in p else 1)
    for path in paths:
        lib = ctypes.CDLL(path)
        if hasattr(lib, "openblas_set_num_threads"):
            config = ""
            if hasattr(lib, "openblas_get_config"):
                lib.openblas_get_config.restype = ctypes.c_char_p
                config = lib.openblas_get_config().decode()
            core = ""
            if hasattr(lib, "openblas_get_corename"):
                lib.openblas_get_corename.restype = ctypes.c_char_p
                core = lib.openblas_get_corename().decode()
            return f"OpenBLAS {config} core={core} ({path})", lib.openblas_set_num_threads
    return f"not OpenBLAS: {', '.join(paths) or 'unknown BLAS'}", None


def main():
    description, set_threads = find_blas()
    print(f"numpy {np.__version__}, {description}", flush=True)
    rng = np.random.default_rng(0)
    cache = {}
    for line in sys.stdin:
        batch, m, n, k, threads, min_seconds = line.split()
        batch, m, n, k, threads = int(batch), int(m), int(n), int(k), int(threads)
        if set_threads is not None:
            set_threads(threads)
        key = (batch, m, n, k)
        if key not in cache:
            cache.clear()
            shape_a = (m, k) if batch == 1 else (batch, m, k)
            shape_b = (k, n) if batch == 1 else (batch, k, n)
            a = rng.random(shape_a, dtype=np.float32) - 0.5
            b = rng.random(shape_b, dtype=np.float32) - 0.5
            cache[key] = (a, b, np.empty(np.broadcast_shapes(shape_a[:-1] + (n,)), np.float32))
        a, b, c = cache[key]
        np.matmul(a, b, out=c)  # warm up
        times = []
        spent = 0.0
        while spent < float(min_seconds) or len(times) < 3:
            t0 = time.perf_counter()
            np.matmul(a, b, out=c)
            dt = time.perf_counter() - t0
            times.append(dt)
            spent += dt
        times.sort()
        print(times[len(times) // 2], flush=True)


if __name__ == "__main__":
    main()
