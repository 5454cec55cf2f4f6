"""Writes a checkpoint in tsgpt's exact run layout (src/train/checkpoint.ts), atomically.

    OUT/checkpoint-STEP/   config.json, generation_config.json, tokenizer.model   (copied from the
                           checkpoint training started from: training changes none of them)
                           model.safetensors       the weights, Hugging Face names and layout
                           optimizer.safetensors   AdamW moments
                           trainer_state.json      written last; lists every other file's sha256
    OUT/last, OUT/best     hard links to the newest / the lowest-validation-loss checkpoint

Everything is written into OUT/.tmp-XXXX and renamed into place, so a process killed at any
moment leaves every directory with a real name complete; leftover .tmp-/.trash- directories are
removed on the next save, and only the newest keepLast checkpoint-STEP directories are kept.
"""
import json
import os
import secrets
import shutil

from .atomic import sync_dir, write_bytes_atomic
from .model import params_to_hf
from .run_dir import OPTIMIZER_FILE, STATE_FORMAT, STATE_VERSION, TRAINER_STATE_FILE, list_checkpoints, sha256_file, with_state_checksum
from .safetensors_io import write_safetensors

COPIED_FILES = ("config.json", "generation_config.json", "tokenizer.model")


def _json(value):
    """JSON as JavaScript's JSON.stringify writes it (no spaces, UTF-8 kept)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def state_json(body):
    """One top-level field per line, as tsgpt writes trainer_state.json."""
    lines = [f"  {_json(k)}: {_json(v)}" for k, v in body.items()]
    return "{\n" + ",\n".join(lines) + "\n}\n"


def save_checkpoint(out, source_ckpt, model, moments, state, keep_last=0, is_best=False):
    """Saves OUT/checkpoint-STEP, publishes OUT/last (and OUT/best), prunes; returns the directory.

    ``state`` holds trainer_state.json's fields in tsgpt's order: step, tokensSeen, bestValLoss,
    bestStep, rng, data, settings.
    """
    os.makedirs(out, exist_ok=True)
    _remove_leftovers(out)
    tmp = os.path.join(out, f".tmp-{secrets.token_hex(6)}")
    os.mkdir(tmp)
    try:
        for name in COPIED_FILES:
            src = os.path.join(source_ckpt, name)
            if os.path.exists(src):
                with open(src, "rb") as fh:
                    write_bytes_atomic(os.path.join(tmp, name), fh.read())
        params = [(n, p.detach().cpu().numpy()) for n, p in model.named_parameters()]
        write_safetensors(os.path.join(tmp, "model.safetensors"), params_to_hf(model.config, params), {"format": "pt"})
        write_safetensors(os.path.join(tmp, OPTIMIZER_FILE), moments, {"format": "pt", "step": str(state["step"])})
        files = {n: sha256_file(os.path.join(tmp, n)) for n in sorted(os.listdir(tmp)) if not n.startswith(".")}
        body = {"format": STATE_FORMAT, "version": STATE_VERSION, **state, "files": files}
        write_bytes_atomic(os.path.join(tmp, TRAINER_STATE_FILE), with_state_checksum(state_json(body)).encode("utf-8"))
        sync_dir(tmp)
        final = os.path.join(out, f"checkpoint-{state['step']}")
        _replace_dir(out, tmp, final)
        _publish(out, final, "last")
        if is_best:
            _publish(out, final, "best")
        _prune(out, keep_last)
        return final
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _replace_dir(out, src, dest):
    trash = None
    if os.path.exists(dest):
        trash = os.path.join(out, f".trash-{secrets.token_hex(6)}")
        os.rename(dest, trash)
    os.rename(src, dest)
    sync_dir(out)
    if trash:
        shutil.rmtree(trash, ignore_errors=True)


def _publish(out, ckpt, name):
    """OUT/<name> becomes a copy of ckpt made of hard links (files are never modified in place)."""
    tmp = os.path.join(out, f".tmp-{secrets.token_hex(6)}")
    os.mkdir(tmp)
    try:
        for f in os.listdir(ckpt):
            try:
                os.link(os.path.join(ckpt, f), os.path.join(tmp, f))
            except OSError:
                shutil.copyfile(os.path.join(ckpt, f), os.path.join(tmp, f))
        sync_dir(tmp)
        _replace_dir(out, tmp, os.path.join(out, name))
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _prune(out, keep_last):
    if keep_last <= 0:
        return
    ckpts = list_checkpoints(out)
    for _, d in ckpts[: max(0, len(ckpts) - keep_last)]:
        trash = os.path.join(out, f".trash-{secrets.token_hex(6)}")
        os.rename(d, trash)  # rename first: a kill mid-delete never leaves half a checkpoint under its name
        shutil.rmtree(trash, ignore_errors=True)


def _remove_leftovers(out):
    for n in os.listdir(out):
        if n.startswith(".tmp-") or n.startswith(".trash-"):
            shutil.rmtree(os.path.join(out, n), ignore_errors=True)
