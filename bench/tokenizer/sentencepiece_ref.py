# The SentencePiece C++ library (python3-sentencepiece) timing the same work as
# encode_bench.ts, in a long-lived process: one JSON request per stdin line, one JSON answer
# per stdout line, so that the bench can alternate tsgpt and the library round by round.
# Work is single-threaded (num_threads=1) and read from the same files.
import json
import sys
import time

import sentencepiece as spm

models = {}
texts = {}


def model(path):
    if path not in models:
        models[path] = spm.SentencePieceProcessor(model_file=path)
    return models[path]


def lines(path):
    if path not in texts:
        with open(path, encoding="utf-8") as f:
            texts[path] = f.read()
    return texts[path]


def handle(req):
    op = req["op"]
    if op == "version":
        return {"version": spm.__version__}
    if op == "load":
        t = time.perf_counter()
        c = time.process_time()
        spm.SentencePieceProcessor(model_file=req["model"])
        return {"seconds": time.perf_counter() - t, "cpu": time.process_time() - c}
    sp = model(req["model"])
    text = lines(req["file"])
    all_lines = text.split("\n")
    if op == "encode_lines":
        t = time.perf_counter()
        n = 0
        for line in all_lines:
            n += len(sp.encode(line))
        return {"seconds": time.perf_counter() - t, "tokens": n}
    if op == "encode_file":
        t = time.perf_counter()
        n = len(sp.encode(text))
        return {"seconds": time.perf_counter() - t, "tokens": n}
    if op == "encode_batch":
        batch = all_lines[: req["count"]]
        t = time.perf_counter()
        out = sp.encode(batch, num_threads=1)
        return {"seconds": time.perf_counter() - t, "tokens": sum(len(x) for x in out)}
    if op == "decode_lines":
        ids = [sp.encode(line) for line in all_lines]
        t = time.perf_counter()
        for x in ids:
            sp.decode(x)
        return {"seconds": time.perf_counter() - t}
    raise ValueError(f"unknown op {op}")


for raw in sys.stdin:
    try:
        answer = handle(json.loads(raw))
    except Exception as err:  # reported to the bench, which stops
        answer = {"error": f"{type(err).__name__}: {err}"}
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()
