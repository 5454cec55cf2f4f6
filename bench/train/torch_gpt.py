# The PyTorch side of bench/train/train_bench.ts: the same GPT-2 ("gpt-mini" by default),
# the same character vocabulary, data split, AdamW settings and schedule, float32 on CPU.
# Reads a JSON config on stdin; prints one JSON result on stdout.
import json, math, sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F

cfg = json.load(sys.stdin)
torch.set_num_threads(cfg["threads"])
try:
    torch.set_num_interop_threads(1)  # one op at a time, as tsgpt; fails once work has started
except RuntimeError:
    pass
torch.manual_seed(cfg["seed"])

class Block(nn.Module):
    def __init__(s, d, h):
        super().__init__()
        s.h = h
        s.ln_1 = nn.LayerNorm(d, eps=1e-5); s.c_attn = nn.Linear(d, 3 * d); s.attn_proj = nn.Linear(d, d)
        s.ln_2 = nn.LayerNorm(d, eps=1e-5); s.c_fc = nn.Linear(d, 4 * d); s.mlp_proj = nn.Linear(4 * d, d)
    def forward(s, x, mask):
        B, T, C = x.shape
        q, k, v = s.c_attn(s.ln_1(x)).split(C, dim=2)
        q, k, v = [t.view(B, T, s.h, C // s.h).transpose(1, 2) for t in (q, k, v)]
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(C // s.h))
        att = F.softmax(att.masked_fill(mask[:T, :T] == 0, float("-inf")), dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        x = x + s.attn_proj(y)
        return x + s.mlp_proj(F.gelu(s.c_fc(s.ln_2(x)), approximate="tanh"))

class GPT(nn.Module):
    def __init__(s, V, T, L, H, D):
        super().__init__()
        s.wte = nn.Embedding(V, D); s.wpe = nn.Embedding(T, D)
        s.blocks = nn.ModuleList([Block(D, H) for _ in range(L)])
        s.ln_f = nn.LayerNorm(D, eps=1e-5)
        s.register_buffer("mask", torch.tril(torch.ones(T, T)))
        for n, p in s.named_parameters():
            if n.endswith("bias"): nn.init.zeros_(p)
            elif "ln" in n: nn.init.ones_(p)
            else: nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * L) if n.endswith("proj.weight") else 0.02)
    def forward(s, idx):
        B, T = idx.shape
        x = s.wte(idx) + s.wpe(torch.arange(T))
        for b in s.blocks: x = b(x, s.mask)
        return s.ln_f(x) @ s.wte.weight.t()  # tied head

text = open(cfg["data"], encoding="utf-8").read()
chars = sorted(set(text))
stoi = {c: i + 1 for i, c in enumerate(chars)}  # id 0 is <unk>, as in tsgpt's character vocabulary
data = torch.tensor([stoi[c] for c in text.rstrip("\n")], dtype=torch.long)
cut = round(len(data) * 0.9)
train_data, val_data = data[:cut], data[cut:]
B, T, steps = cfg["batch"], cfg["context"], cfg["steps"]

def get_batch(d, g):
    ix = torch.randint(len(d) - T, (B,), generator=g)
    return torch.stack([d[i:i + T] for i in ix]), torch.stack([d[i + 1:i + 1 + T] for i in ix])

gval = torch.Generator().manual_seed(cfg["seed"] + 1)
val_batches = [get_batch(val_data, gval) for _ in range(cfg["eval_iters"])]
model = GPT(len(chars) + 1, T, cfg["layers"], cfg["heads"], cfg["dims"])
decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and not n.startswith(("wte", "wpe"))]
no_decay = [p for n, p in model.named_parameters() if not (p.dim() >= 2 and not n.startswith(("wte", "wpe")))]
opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg["weight_decay"]}, {"params": no_decay, "weight_decay": 0.0}],
                        lr=cfg["lr"], betas=(0.9, 0.99), eps=1e-8)

def lr_at(it):
    if it < cfg["warmup"]: return cfg["lr"] * (it + 1) / (cfg["warmup"] + 1)
    if it > steps: return cfg["min_lr"]
    r = (it - cfg["warmup"]) / max(1, steps - cfg["warmup"])
    return cfg["min_lr"] + 0.5 * (1 + math.cos(math.pi * r)) * (cfg["lr"] - cfg["min_lr"])

@torch.no_grad()
def evaluate():
    model.eval()
    l = sum(F.cross_entropy(model(x).view(-1, len(chars) + 1), y.view(-1)).item() for x, y in val_batches) / len(val_batches)
    model.train()
    return l

g = torch.Generator().manual_seed(cfg["seed"])
val = {}
if 0 in cfg["eval_at"]: val[0] = evaluate()
train_seconds, cpu_seconds, timed_steps = 0.0, 0.0, 0
for it in range(steps):
    for group in opt.param_groups: group["lr"] = lr_at(it)
    x, y = get_batch(train_data, g)
    t0, c0 = time.perf_counter(), time.process_time()
    loss = F.cross_entropy(model(x).view(-1, len(chars) + 1), y.view(-1))
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), cfg["grad_clip"])
    opt.step()
    dt, dc = time.perf_counter() - t0, time.process_time() - c0
    if it >= cfg["skip_timing"]:
        train_seconds += dt; cpu_seconds += dc; timed_steps += 1
    if it + 1 in cfg["eval_at"]: val[it + 1] = evaluate()
ms = 1000 * train_seconds / max(1, timed_steps)
print(json.dumps({"ms_per_step": ms, "cpu_ms_per_step": 1000 * cpu_seconds / max(1, timed_steps), "tokens_per_sec": B * T / (ms / 1000), "val": val, "last_loss": loss.item(),
                  "threads": torch.get_num_threads(), "interop_threads": torch.get_num_interop_threads(),
                  "torch_version": torch.__version__}))
