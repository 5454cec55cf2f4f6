"""log.jsonl: one JSON object per line, appended as training goes (src/train/train_log.ts).

    {"type":"train","step":10,"loss":2.31,"lr":0.0009,"grad_norm":0.8,"tokens":30720,"tokens_per_sec":5120,"elapsed_s":6.0}
    {"type":"eval","step":250,"val_loss":1.98,"val_ppl":7.24}
"""
import json
import os

from .atomic import write_bytes_atomic


class TrainLog:
    def __init__(self, path):
        self.path = path

    def append(self, record):
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, separators=(",", ":")) + "\n")

    def read(self):
        """The records so far; a line cut by a crash is skipped."""
        if not os.path.exists(self.path):
            return []
        out = []
        with open(self.path, encoding="utf-8") as fh:
            for line in fh:
                try:
                    r = json.loads(line)
                except ValueError:
                    continue
                if isinstance(r, dict) and r.get("type") in ("train", "eval") and isinstance(r.get("step"), (int, float)):
                    out.append(r)
        return out

    def truncate_after(self, step):
        """Drops records after ``step`` (a continued run re-does those steps), atomically."""
        if os.path.exists(self.path):
            kept = [r for r in self.read() if r["step"] <= step]
            write_bytes_atomic(self.path, "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in kept).encode("utf-8"))
