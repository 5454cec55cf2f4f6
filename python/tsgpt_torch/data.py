"""Training batches in tsgpt's exact order, split over the ranks (src/train/dataset.ts, corpus.ts).

The corpus is split by position: the first round(0.9 · n) ids train, the rest validate
(corpus.ts splitCorpus). A training batch is B random windows of T + 1 ids of the training part
(nanoGPT's get_batch); the window starts come from one MT19937 stream, B draws of
randint(0, n_train − T) per batch, whose state tsgpt saves as the data position.

How the global batch splits over W ranks: every rank draws all B starts (so every rank's
generator stays at the same position, the one the checkpoint records) and keeps the rows
[rank · B/W, (rank + 1) · B/W). The union of the ranks' rows is exactly tsgpt's batch, so the
data order does not depend on the world size; W must divide B. Each rank's loss is the mean over
its rows, DDP averages the gradients, and equal row counts make that the mean over the whole
batch: the same step tsgpt takes.

Validation batches are fixed: evalIters batches drawn from their own stream seeded with
seed + 1 over the validation part (dataset.ts fixedWindowBatches).
"""
import numpy as np

from .errors import RunDirError
from .rng import Generator

VAL_FRACTION = 0.1


def split_corpus(ids, val_fraction=VAL_FRACTION):
    """(train, val) views; the cut is JavaScript's Math.round(n · (1 − f)) (halves round up)."""
    cut = int(np.floor(len(ids) * (1 - val_fraction) + 0.5))
    return ids[:cut], ids[cut:]


def check_world_size(batch_size, world_size, source):
    if batch_size % world_size != 0:
        raise RunDirError(source, "settings.batchSize",
                          f"{batch_size} sequences per batch cannot be split over {world_size} processes: "
                          f"the world size must divide the batch size (use --nproc_per_node / --nnodes so that it does, "
                          f"or train with a batch size that is a multiple of {world_size})")
    return batch_size // world_size


class WindowBatches:
    """Random windows of the token stream: this rank's rows of each global batch."""

    def __init__(self, ids, batch_size, context, generator, rank=0, world_size=1, source="token cache"):
        if len(ids) < context + 1:
            raise RunDirError(source, "count", f"{len(ids)} tokens are fewer than one window of {context + 1} (context + 1)")
        self.ids = ids
        self.batch_size = batch_size
        self.context = context
        self.generator = generator
        per_rank = check_world_size(batch_size, world_size, source)
        self.rows = slice(rank * per_rank, (rank + 1) * per_rank)

    def next_batch(self):
        """(inputs, targets) int64 arrays of shape (B / W, T): this rank's share."""
        T = self.context
        starts = [self.generator.randint(0, len(self.ids) - T) for _ in range(self.batch_size)]
        mine = starts[self.rows]
        x = np.stack([np.asarray(self.ids[s:s + T], dtype=np.int64) for s in mine])
        y = np.stack([np.asarray(self.ids[s + 1:s + T + 1], dtype=np.int64) for s in mine])
        return x, y

    def get_state(self):
        return {"kind": "windows", "rng": self.generator.get_state()}


def fixed_val_batches(val_ids, batch_size, context, seed, count):
    """The validation batches tsgpt evaluates on, whole (not split over ranks)."""
    ds = WindowBatches(val_ids, batch_size, context, Generator(seed), source="validation part of the token cache")
    return [ds.next_batch() for _ in range(count)]
