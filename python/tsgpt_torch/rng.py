"""MT19937, the generator behind tsgpt's data order (src/tensor/random.ts), word for word.

The 624-word state and the read position are tsgpt's RngState ({"algorithm": "mt19937",
"key": [...], "pos": n}), so a position saved by tsgpt continues here and back. Python's own
``random.Random`` is MT19937 with the same tempering; its state tuple is the same 624 words plus
the position, so it draws the numbers and only the seeding (tsgpt's init_genrand for seeds below
2^32) is written out here.
"""
import random

N = 624


def _init_genrand(seed):
    mt = [0] * N
    mt[0] = seed & 0xFFFFFFFF
    for i in range(1, N):
        prev = mt[i - 1] ^ (mt[i - 1] >> 30)
        mt[i] = (1812433253 * prev + i) & 0xFFFFFFFF
    return mt


def _init_by_array(key):
    mt = _init_genrand(19650218)
    i, j = 1, 0
    for _ in range(max(N, len(key))):
        prev = mt[i - 1] ^ (mt[i - 1] >> 30)
        mt[i] = ((mt[i] ^ (prev * 1664525)) + key[j] + j) & 0xFFFFFFFF
        i, j = i + 1, j + 1
        if i >= N:
            mt[0], i = mt[N - 1], 1
        if j >= len(key):
            j = 0
    for _ in range(N - 1):
        prev = mt[i - 1] ^ (mt[i - 1] >> 30)
        mt[i] = ((mt[i] ^ (prev * 1566083941)) - i) & 0xFFFFFFFF
        i += 1
        if i >= N:
            mt[0], i = mt[N - 1], 1
    mt[0] = 0x80000000
    return mt


class Generator:
    """One MT19937 stream with tsgpt's seeding, randint and saved state."""

    def __init__(self, seed=5489):
        self._r = random.Random()
        if not isinstance(seed, int) or seed < 0 or seed >= 2**53:
            raise ValueError(f"seed must be a non-negative safe integer, got {seed!r}")
        key = _init_genrand(seed) if seed < 2**32 else _init_by_array([seed % 2**32, seed // 2**32])
        self._r.setstate((3, tuple(key) + (N,), None))

    @classmethod
    def from_state(cls, state, source="rng state"):
        g = cls()
        g.set_state(state, source)
        return g

    def next_uint32(self):
        return self._r.getrandbits(32)

    def randint(self, low, high):
        """Uniform integer in [low, high) by rejection sampling (no modulo bias), as tsgpt draws it."""
        span = high - low
        if span <= 0 or span > 2**32:
            raise ValueError(f"randint: need low < high with high - low <= 2^32, got {low}, {high}")
        limit = 2**32 - (2**32 % span)
        while True:
            v = self.next_uint32()
            if v < limit:
                return low + v % span

    def get_state(self):
        words = self._r.getstate()[1]
        return {"algorithm": "mt19937", "key": list(words[:N]), "pos": words[N]}

    def set_state(self, state, source="rng state"):
        from .errors import RunDirError

        ok = (isinstance(state, dict) and state.get("algorithm") == "mt19937" and isinstance(state.get("key"), list)
              and len(state["key"]) == N and all(isinstance(w, int) and 0 <= w < 2**32 for w in state["key"])
              and isinstance(state.get("pos"), int) and 0 <= state["pos"] <= N)
        if not ok:
            raise RunDirError(source, "rng", f'expected {{"algorithm": "mt19937", "key": {N} uint32 words, "pos": 0…{N}}}')
        self._r.setstate((3, tuple(state["key"]) + (state["pos"],), None))
