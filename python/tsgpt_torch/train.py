"""Continue a tsgpt run on PyTorch, on one process or many (DDP), and write it back.

    python -m tsgpt_torch.train --run runs/demo --steps 4000                       (one process)
    torchrun --nproc_per_node 8 -m tsgpt_torch.train --run runs/demo --steps 4000  (8 GPUs / processes)

``--steps`` is the run's total, as for ``tsgpt train --resume``: the cosine schedule reaches
minLr there. Every other setting (batch size, context, lr, betas, clipping, accumulation,
evaluation and checkpoint cadence, seed) comes from the checkpoint's trainer_state.json.

Each step is tsgpt's (src/train/trainer.ts): lr from the schedule; gradAccum micro-batches of
cross-entropy / gradAccum, backward (DDP averages the ranks' gradients on the last one); clip to
gradClip; AdamW; log; validation and checkpoint at their steps. Everything is checked before the
process group starts and before the first step: a bad run directory is one clear error.
"""
import argparse
import contextlib
import math
import os
import shutil
import sys
import time

import torch
import torch.distributed as dist
import torch.nn.functional as F

from .config import context_length
from .data import WindowBatches, check_world_size, fixed_val_batches, split_corpus
from .errors import RunDirError
from .model import build_model
from .optim import load_moments, make_adamw, moments, moments_to, set_lr
from .rng import Generator
from .run_dir import TRAINER_STATE_FILE, check_settings, load_config, load_optimizer_file, load_weights, locate, read_state
from .schedule import learning_rate
from .token_cache import find_token_cache, read_token_cache
from .checkpoint import save_checkpoint
from .train_log import TrainLog


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m tsgpt_torch.train", description=__doc__.split("\n\n")[0])
    p.add_argument("--run", required=True, metavar="DIR", help="tsgpt run directory (its last/ checkpoint) or a checkpoint directory")
    p.add_argument("--steps", type=int, metavar="N", help="total optimizer steps of the run (default: the checkpoint's)")
    p.add_argument("--out", metavar="DIR", help="where checkpoints and log.jsonl go (default: the run directory)")
    p.add_argument("--cache", metavar="FILE", help="the token cache (default: RUN/cache/<data>.<tokenizer sha>.tokens)")
    for flag, key in (("--log-every", "logEvery"), ("--eval-every", "evalEvery"), ("--save-every", "saveEvery")):
        p.add_argument(flag, type=int, metavar="N", dest=key, help=f"override the checkpoint's {key}")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="default: cuda when available")
    p.add_argument("--check", action="store_true", help="load and check everything, print a summary, train nothing")
    return p.parse_args(argv)


def distributed_env():
    """(rank, local rank, world size) from torchrun's environment; (0, 0, 1) without it."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    return int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0")), world


class Run:
    """Everything loaded and checked before the first step."""

    def __init__(self, args, rank, world):
        self.ckpt, run_dir = locate(args.run)
        self.out = os.path.abspath(args.out or run_dir)
        state_path = os.path.join(self.ckpt, TRAINER_STATE_FILE)
        self.state = read_state(self.ckpt)
        s = check_settings(dict(self.state["settings"]), state_path)
        if args.steps is not None:
            s["steps"] = args.steps
        for key in ("logEvery", "evalEvery", "saveEvery"):
            if getattr(args, key) is not None:
                s[key] = getattr(args, key)
        if s["steps"] <= self.state["step"]:
            raise RunDirError(state_path, "step", f"the checkpoint is at step {self.state['step']}; --steps {s['steps']} leaves nothing to do")
        if s["logEvery"] < 1 or s["batchSize"] < 1 or s["gradAccum"] < 1 or s["contextLength"] < 1:
            raise RunDirError(state_path, "settings", "logEvery, batchSize, gradAccum and contextLength must be at least 1")
        self.settings = s
        check_world_size(s["batchSize"], world, state_path)
        self.config = load_config(self.ckpt)
        if s["contextLength"] > context_length(self.config):
            raise RunDirError(state_path, "settings.contextLength", f"{s['contextLength']} exceeds the model's context of {context_length(self.config)}")
        tok = os.path.join(self.ckpt, "tokenizer.model")
        if args.cache:
            cache, tok_sha = args.cache, None
        else:
            cache, tok_sha = find_token_cache(os.path.join(run_dir, "cache"), s["source"]["dataFiles"], tok)
        _, ids = read_token_cache(cache, tokenizer_sha256=tok_sha, vocab_size=self.config["vocab_size"])
        self.train_ids, self.val_ids = split_corpus(ids)
        self.train_data = WindowBatches(self.train_ids, s["batchSize"], s["contextLength"],
                                        Generator.from_state(self.state["data"].get("rng"), state_path + " data"), rank, world, cache)
        need = s["contextLength"] + 1
        if len(self.val_ids) < need:
            raise RunDirError(cache, "count", f"the validation part has {len(self.val_ids)} tokens, fewer than one window of {need}")
        self.model = build_model(self.config)
        load_weights(self.ckpt, self.config, self.model)
        self.optimizer = make_adamw(self.model, s)
        tensors, path = load_optimizer_file(self.ckpt)
        load_moments(self.optimizer, self.model, tensors, self.state["step"], path)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    rank, local_rank, world = distributed_env()
    try:
        run = Run(args, rank, world)
    except RunDirError as e:
        print(f"{f'[rank {rank}] ' if world > 1 else ''}tsgpt_torch: error: {e}", file=sys.stderr)
        return 2
    if args.check:
        return check(run, world)
    use_cuda = args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available())
    device = torch.device(f"cuda:{local_rank}" if use_cuda else "cpu")
    if use_cuda:
        torch.cuda.set_device(device)
        torch.backends.cuda.matmul.allow_tf32 = False  # float32 math, as tsgpt
        torch.backends.cudnn.allow_tf32 = False
    if world > 1:
        dist.init_process_group("nccl" if use_cuda else "gloo")
    try:
        train(run, rank, world, device)
        if world > 1:
            dist.barrier()  # every rank leaves after rank 0 has written the last checkpoint
    finally:
        if world > 1:
            dist.destroy_process_group()
    return 0


def check(run, world):
    """--check: everything loaded; prints the model, the data and the validation loss of the checkpoint."""
    s = run.settings
    params = sum(p.numel() for p in run.model.parameters())
    val = fixed_val_batches(run.val_ids, s["batchSize"], s["contextLength"], s["seed"] + 1, s["evalIters"])
    loss = evaluate(run.model, val, 0, 1, torch.device("cpu"))
    print(f"ok: {run.ckpt} at step {run.state['step']}: {run.config['model_type']}, {params:,} parameters, "
          f"{len(run.train_ids):,} training tokens, batch {s['batchSize']} over {world} process(es), val loss {loss:.6f}")
    return 0


def all_sum(values, device, world):
    """Sums a list of floats over the ranks (float64, so the sums do not lose digits)."""
    t = torch.tensor(values, dtype=torch.float64, device=device)
    if world > 1:
        dist.all_reduce(t)
    return t.tolist()


def evaluate(model, batches, rank, world, device):
    """Mean validation loss over the fixed batches; batch i is evaluated by rank i mod W."""
    weighted, tokens = 0.0, 0
    with torch.no_grad():
        for i, (x, y) in enumerate(batches):
            if i % world != rank:
                continue
            logits = model(torch.from_numpy(x).to(device))
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), torch.from_numpy(y).to(device).reshape(-1))
            weighted += loss.item() * y.size
            tokens += y.size
    weighted, tokens = all_sum([weighted, tokens], device, world)
    return weighted / tokens


def train(run, rank, world, device):
    s = run.settings
    model = run.model.to(device)  # moves the parameters in place: the optimizer keeps them
    optimizer = run.optimizer
    moments_to(optimizer, device)
    ddp = torch.nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None) if world > 1 else model
    val_batches = fixed_val_batches(run.val_ids, s["batchSize"], s["contextLength"], s["seed"] + 1, s["evalIters"])
    lead = rank == 0
    say = (lambda m: print(m, file=sys.stderr, flush=True)) if lead else (lambda m: None)
    log = TrainLog(os.path.join(run.out, "log.jsonl"))
    step, tokens_seen = run.state["step"], run.state["tokensSeen"]
    best = {"loss": run.state["bestValLoss"], "step": run.state["bestStep"]}
    if lead:
        os.makedirs(run.out, exist_ok=True)
        log.truncate_after(step)
        tok_dest = os.path.join(run.out, "tokenizer.model")
        if not os.path.exists(tok_dest):
            shutil.copyfile(os.path.join(run.ckpt, "tokenizer.model"), tok_dest)
    say(f"continuing {run.ckpt} at step {step} → {s['steps']} on {world} process(es), {device.type}; "
        f"{s['batchSize']} sequences per batch ({s['batchSize'] // world} per process) × {s['contextLength']} tokens")

    def validate():
        loss = evaluate(model, val_batches, rank, world, device)
        if not math.isfinite(loss):
            raise RuntimeError(f"step {step}: the validation loss is {loss}; stopping")
        if lead:
            log.append({"type": "eval", "step": step, "val_loss": loss, "val_ppl": math.exp(loss)})
        say(f"step {step}: val loss {loss:.4f}, perplexity {math.exp(loss):.2f}")
        return loss

    def save(val_loss):
        is_best = val_loss is not None and (best["loss"] is None or val_loss < best["loss"])
        if is_best:
            best["loss"], best["step"] = val_loss, step
        if not lead:
            return
        state = {
            "step": step, "tokensSeen": tokens_seen, "bestValLoss": best["loss"], "bestStep": best["step"],
            "rng": run.state["rng"],  # tsgpt's global stream: nothing here draws from it (no dropout)
            "data": run.train_data.get_state(), "settings": s,
        }
        where = save_checkpoint(run.out, run.ckpt, model, moments(optimizer, model), state, s["keepLast"], is_best)
        say(f"step {step}: saved {where}{' (best so far)' if is_best else ''}")

    if step == 0 and s["evalEvery"] > 0:
        validate()
    train_seconds, train_tokens = 0.0, 0
    params = list(model.parameters())
    while step < s["steps"]:
        t0 = time.perf_counter()
        lr = learning_rate(step, s["lr"], s["minLr"], s["warmupSteps"], s["steps"])
        set_lr(optimizer, lr)
        loss_value, grad_norm = forward_backward(ddp, run, params, step, world, device)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        tokens = s["batchSize"] * s["contextLength"] * s["gradAccum"]
        tokens_seen += tokens
        seconds = time.perf_counter() - t0
        train_seconds += seconds
        train_tokens += tokens
        if step % s["logEvery"] == 0 or step == s["steps"]:
            if lead:
                log.append({"type": "train", "step": step, "loss": loss_value, "lr": lr, "grad_norm": grad_norm, "tokens": tokens_seen,
                            "tokens_per_sec": train_tokens / train_seconds, "elapsed_s": train_seconds})
            say(f"step {step}/{s['steps']}: loss {loss_value:.6f}, lr {lr:.3e}, grad norm {grad_norm:.4f}, "
                f"{train_tokens / train_seconds:.0f} tok/s")
        save_now = step == s["steps"] or (s["saveEvery"] > 0 and step % s["saveEvery"] == 0)
        eval_now = (s["evalEvery"] > 0 and step % s["evalEvery"] == 0) or save_now
        val_loss = validate() if eval_now else None
        if save_now:
            save(val_loss)
    say(f"done: step {step}, {train_tokens / max(train_seconds, 1e-9):.0f} tokens/s on {world} process(es); "
        f"continue anywhere with `tsgpt train --resume {run.out}`")


def forward_backward(ddp, run, params, step, world, device):
    """The gradients of one step (gradAccum micro-batches), clipped; returns (mean loss over all ranks, norm).

    DDP all-reduces the gradients on the last micro-batch only (no_sync before it), once per step.
    A NaN or infinite loss or norm stops training here, before the update would spread it.
    """
    s = run.settings
    loss_sum = 0.0
    for micro in range(s["gradAccum"]):
        x, y = (torch.from_numpy(a).to(device) for a in run.train_data.next_batch())
        sync = world == 1 or micro == s["gradAccum"] - 1
        with contextlib.nullcontext() if sync else ddp.no_sync():
            logits = ddp(x)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
            (loss / s["gradAccum"] if s["gradAccum"] > 1 else loss).backward()
        loss_sum += loss.item()
    loss_value = all_sum([loss_sum], device, world)[0] / world / s["gradAccum"]
    if not math.isfinite(loss_value):
        raise RuntimeError(f"step {step + 1}: the training loss is {loss_value}; stopping before the update (try a lower lr)")
    grad_norm = float(torch.nn.utils.clip_grad_norm_(params, s["gradClip"] if s["gradClip"] > 0 else float("inf")))
    if not math.isfinite(grad_norm):
        raise RuntimeError(f"step {step + 1}: the gradient norm is {grad_norm}; stopping before the update")
    return loss_value, grad_norm


if __name__ == "__main__":
    sys.exit(main())
