"""AdamW with the state of tsgpt's optimizer.safetensors (src/train/adamw.ts).

torch.optim.AdamW is the same update as tsgpt's AdamW (decoupled weight decay, bias-corrected
moments, eps outside the square root). tsgpt keeps two moments per parameter and one step count:

    optimizer.safetensors   "<param>.exp_avg", "<param>.exp_avg_sq"   F32, the parameter's shape
                            (tsgpt's (out, in) layout, also for GPT-2's Conv1D weights)
                            metadata {"format": "pt", "step": "<step>"}
    trainer_state.json      "step": the number of updates taken (AdamW's bias-correction count)

Weight decay applies to the parameters model.decays picks; the others sit in a group with 0.
"""
import numpy as np
import torch

from .errors import RunDirError
from .model import decays


def make_adamw(model, settings):
    named = list(model.named_parameters())
    decay = [p for n, p in named if decays(model, n)]
    no_decay = [p for n, p in named if not decays(model, n)]
    groups = [{"params": decay, "weight_decay": settings["weightDecay"]}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=settings["lr"], betas=(settings["beta1"], settings["beta2"]), eps=1e-8)


def load_moments(optimizer, model, tensors, step, path):
    """Puts tsgpt's moments into the optimizer's state; every name must be there with its shape."""
    for name, p in model.named_parameters():
        state = {"step": torch.tensor(float(step))}
        for suffix in ("exp_avg", "exp_avg_sq"):
            key = f"{name}.{suffix}"
            if key not in tensors:
                raise RunDirError(path, key, "missing (the optimizer state does not fit this model)")
            dtype, array = tensors[key]
            if dtype != "F32":
                raise RunDirError(path, key, f"expected F32, got {dtype}")
            if tuple(array.shape) != tuple(p.shape):
                raise RunDirError(path, key, f"shape {list(array.shape)} does not match the parameter's {list(p.shape)}")
            state[suffix] = torch.from_numpy(np.array(array, dtype=np.float32)).to(p.device)
        optimizer.state[p] = state
    known = {f"{n}.{s}" for n, _ in model.named_parameters() for s in ("exp_avg", "exp_avg_sq")}
    extra = sorted(set(tensors) - known)
    if extra:
        raise RunDirError(path, extra[0], "not a moment of any parameter of this model")


def moments_to(optimizer, device):
    """Moves the moments beside their parameters (the step count stays a CPU tensor, as torch wants it)."""
    for state in optimizer.state.values():
        for key in ("exp_avg", "exp_avg_sq"):
            state[key] = state[key].to(device)


def moments(optimizer, model):
    """(name, float32 array) pairs for optimizer.safetensors, in tsgpt's order."""
    out = []
    for name, p in model.named_parameters():
        state = optimizer.state[p]
        out.append((f"{name}.exp_avg", state["exp_avg"].detach().cpu().numpy()))
        out.append((f"{name}.exp_avg_sq", state["exp_avg_sq"].detach().cpu().numpy()))
    return out


def set_lr(optimizer, lr):
    for group in optimizer.param_groups:
        group["lr"] = lr
