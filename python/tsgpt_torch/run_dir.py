"""Finds, verifies and loads the checkpoint of a tsgpt run directory (src/train/checkpoint.ts).

    RUN/last/ (or RUN/checkpoint-STEP/, or a checkpoint directory given directly)
      config.json, model.safetensors, generation_config.json, tokenizer.model
      optimizer.safetensors      AdamW moments (optim.py)
      trainer_state.json         {"format": "tsgpt-trainer-state", "version": 1, step, tokensSeen,
                                  bestValLoss, bestStep, rng, data, settings, files: name → sha256}
    RUN/cache/*.tokens           the token cache (token_cache.py)
    RUN/log.jsonl                the training log (train_log.py)

Everything is checked before training: the state's format and version (a run from another tsgpt
version is refused), every file's sha256, the config (config.py), the weights' and moments'
names and shapes, the data position's kind.
"""
import hashlib
import json
import os
import re
import sys

from .config import read_config
from .errors import RunDirError
from .safetensors_io import read_safetensors, to_float32
from .model import hf_to_params

TRAINER_STATE_FILE = "trainer_state.json"
OPTIMIZER_FILE = "optimizer.safetensors"
STATE_FORMAT = "tsgpt-trainer-state"
STATE_VERSION = 1
# The last field of trainer_state.json: the sha256 of the file's bytes without that field
# (src/train/checkpoint.ts writes and checks it the same way).
STATE_SHA256_FIELD = "state_sha256"
_CHECKSUM_TAIL = re.compile(r',\n  "state_sha256": "([0-9a-f]{64})"\n\}\n\Z')
_warned_unchecked = set()


def with_state_checksum(text):
    """The state text with its checksum appended as the last field."""
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return text[: -len("\n}\n")] + f',\n  "{STATE_SHA256_FIELD}": "{digest}"\n}}\n'


def check_state_checksum(path, text, s):
    """Refuses an edited state; a state from before the checksum existed is accepted with one warning."""
    if STATE_SHA256_FIELD not in s:
        if path not in _warned_unchecked:
            _warned_unchecked.add(path)
            print(f"warning: {path} has no {STATE_SHA256_FIELD} (written by an older tsgpt): its fields cannot be checked; "
                  "the next checkpoint will have it", file=sys.stderr)
        return
    m = _CHECKSUM_TAIL.search(text)
    if not m:
        raise RunDirError(path, STATE_SHA256_FIELD, "expected as the last field, as tsgpt writes it: the file was edited")
    body = text[: m.start()] + "\n}\n"
    if hashlib.sha256(body.encode("utf-8")).hexdigest() != m.group(1):
        raise RunDirError(path, STATE_SHA256_FIELD,
                          "does not match the file's contents: trainer_state.json was edited or damaged after saving (it is not trusted)")
REQUIRED_FILES = ("config.json", "model.safetensors", OPTIMIZER_FILE)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def list_checkpoints(run):
    """(step, dir) of RUN/checkpoint-STEP directories, oldest first."""
    if not os.path.isdir(run):
        return []
    found = [(int(m.group(1)), os.path.join(run, n)) for n in os.listdir(run) if (m := re.fullmatch(r"checkpoint-(\d+)", n))]
    return sorted(found)


def locate(path):
    """(checkpoint dir, run dir): the path itself when it is a checkpoint, else its last/ (or newest checkpoint-STEP)."""
    path = os.path.abspath(path)
    if os.path.exists(os.path.join(path, TRAINER_STATE_FILE)):
        return path, os.path.dirname(path)
    last = os.path.join(path, "last")
    if os.path.isdir(last):
        return last, path
    ckpts = list_checkpoints(path)
    if ckpts:
        return ckpts[-1][1], path
    raise RunDirError(path, TRAINER_STATE_FILE, "not a training checkpoint (no trainer_state.json) and no last/ or checkpoint-STEP/ inside")


def read_state(ckpt):
    """trainer_state.json, checked field by field, every listed file checked against its sha256."""
    path = os.path.join(ckpt, TRAINER_STATE_FILE)
    try:
        with open(path, "rb") as fh:
            text = fh.read().decode("utf-8")
        s = json.loads(text)
    except FileNotFoundError:
        raise RunDirError(path, "file", "missing: a training checkpoint needs trainer_state.json") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise RunDirError(path, "JSON", f"corrupted: {e}") from None
    if not isinstance(s, dict) or s.get("format") != STATE_FORMAT:
        raise RunDirError(path, "format", f'expected "{STATE_FORMAT}"')
    check_state_checksum(path, text, s)
    s.pop(STATE_SHA256_FIELD, None)
    if s.get("version") != STATE_VERSION:
        raise RunDirError(path, "version", f"expected {STATE_VERSION}, got {json.dumps(s.get('version'))} "
                                           "(a run directory from another tsgpt version; this tsgpt_torch reads version 1)")
    if not isinstance(s.get("step"), int) or s["step"] < 0:
        raise RunDirError(path, "step", f"expected a non-negative integer, got {json.dumps(s.get('step'))}")
    for field in ("rng", "data", "settings", "files"):
        if not isinstance(s.get(field), dict):
            raise RunDirError(path, field, "missing (expected an object)")
    if "adapter_config.json" in s["files"]:
        raise RunDirError(path, "files", "this is a LoRA fine-tuning checkpoint: tsgpt_torch continues whole-model `tsgpt train` runs")
    for required in REQUIRED_FILES:
        if required not in s["files"]:
            raise RunDirError(path, "files", f"does not list {required}")
    for name, digest in s["files"].items():
        if "/" in name or "\\" in name or name.startswith("."):
            raise RunDirError(path, f"files.{name}", "not a plain file name")
        p = os.path.join(ckpt, name)
        if not os.path.exists(p):
            raise RunDirError(p, "file", "missing (listed in trainer_state.json)")
        if sha256_file(p) != digest:
            raise RunDirError(p, "sha256", "checksum mismatch: the file is corrupted or was changed after saving")
    data = s["data"]
    if data.get("kind") != "windows":
        raise RunDirError(path, "data.kind", f'expected "windows" (random windows of one token stream, as `tsgpt train` samples), got {json.dumps(data.get("kind"))}')
    return s


def check_settings(settings, path):
    """The settings the training step uses, with their types checked."""
    ints = ("steps", "batchSize", "contextLength", "gradAccum", "warmupSteps", "evalEvery", "evalIters",
            "saveEvery", "keepLast", "logEvery", "seed")
    nums = ("lr", "minLr", "weightDecay", "beta1", "beta2", "gradClip")
    for k in ints:
        v = settings.get(k)
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise RunDirError(path, f"settings.{k}", f"expected a non-negative integer, got {json.dumps(v)}")
    for k in nums:
        v = settings.get(k)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
            raise RunDirError(path, f"settings.{k}", f"expected a non-negative number, got {json.dumps(v)}")
    source = settings.get("source")
    if not isinstance(source, dict) or not isinstance(source.get("dataFiles"), list):
        raise RunDirError(path, "settings.source", "missing (the data this run trained on)")
    return settings


def load_weights(ckpt, config, model):
    """model.safetensors → the model's parameters (every one present, shapes checked, nothing extra)."""
    import torch

    path = os.path.join(ckpt, "model.safetensors")
    raw, _ = read_safetensors(path)
    floats = {name: to_float32(path, name, dtype, a) for name, (dtype, a) in raw.items()}
    params = hf_to_params(config, floats)
    own = dict(model.named_parameters())
    for name, p in own.items():
        if name not in params:
            raise RunDirError(path, name, "missing (the weights do not fit config.json)")
        if tuple(params[name].shape) != tuple(p.shape):
            raise RunDirError(path, name, f"shape {list(params[name].shape)} does not match the model's {list(p.shape)}")
    extra = sorted(set(params) - set(own))
    if extra:
        raise RunDirError(path, extra[0], "not a parameter of the model config.json describes")
    with torch.no_grad():
        for name, p in own.items():
            p.copy_(torch.from_numpy(params[name].copy()))


def load_optimizer_file(ckpt):
    path = os.path.join(ckpt, OPTIMIZER_FILE)
    tensors, _ = read_safetensors(path)
    return tensors, path


def load_config(ckpt):
    return read_config(os.path.join(ckpt, "config.json"))
