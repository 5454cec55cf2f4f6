"""GPT-2 and Llama in PyTorch, built from a checked config (config.py), math for math as tsgpt.

Parameter names are tsgpt's (and Hugging Face's): ``transformer.h.0.attn.c_attn.weight``,
``model.layers.0.self_attn.q_proj.weight``, … so optimizer.safetensors maps onto them by name.
Every linear weight is (out, in) like nn.Linear and tsgpt; only the files of Hugging Face's
GPT-2 store its Conv1D weights (c_attn, c_proj, c_fc) as (in, out), which hf_to_params and
params_to_hf transpose, as tsgpt's src/formats/hf.ts does.

    GPT-2   x = wte[ids] + wpe[pos];  x += attn(ln_1(x));  x += mlp(ln_2(x));  logits = ln_f(x) · wteᵀ
    Llama   x = embed[ids];  x += attn(rms(x)) with RoPE;  x += swiglu(rms(x));  logits = lm_head(norm(x))

There is no dropout: tsgpt's models have none, so the step is deterministic given the data.
"""
import math
import re

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

CONV1D_WEIGHT = re.compile(r"^transformer\.h\.\d+\.(attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj)\.weight$")
GPT2_MASK_BUFFER = re.compile(r"\.attn\.(bias|masked_bias)$")


def causal_attention(q, k, v):
    """softmax(q kᵀ / √hd, causal) v for q (B, nH, T, hd), k and v (B, nKV, T, hd) → (B, T, nH·hd).

    Grouped-query attention: query head h uses key/value head h // (nH / nKV), as tsgpt stacks them.
    """
    B, nH, T, hd = q.shape
    group = nH // k.shape[1]
    if group > 1:
        k = k.repeat_interleave(group, dim=1)
        v = v.repeat_interleave(group, dim=1)
    scores = (q @ k.transpose(-2, -1)) * (1 / math.sqrt(hd))  # (B, nH, T, T)
    future = torch.ones(T, T, dtype=torch.bool, device=q.device).triu(1)
    att = scores.masked_fill(future, float("-inf")).softmax(dim=-1)
    return (att @ v).transpose(1, 2).reshape(B, T, nH * hd)


# --- GPT-2 -----------------------------------------------------------------------------------

class GPT2Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        C, bias = c["n_embd"], c["bias"]
        self.heads = c["n_head"]
        self.c_attn = nn.Linear(C, 3 * C, bias=bias)
        self.c_proj = nn.Linear(C, C, bias=bias)

    def forward(self, x):
        B, T, C = x.shape
        qkv = self.c_attn(x).view(B, T, 3, self.heads, C // self.heads)
        q, k, v = (qkv[:, :, i].transpose(1, 2) for i in range(3))  # (B, nH, T, hd)
        return self.c_proj(causal_attention(q, k, v))


class GPT2MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c_fc = nn.Linear(c["n_embd"], c["n_inner"], bias=c["bias"])
        self.c_proj = nn.Linear(c["n_inner"], c["n_embd"], bias=c["bias"])

    def forward(self, x):
        return self.c_proj(F.gelu(self.c_fc(x), approximate="tanh"))


class GPT2Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        eps, bias = c["layer_norm_epsilon"], c["bias"]
        self.ln_1 = nn.LayerNorm(c["n_embd"], eps=eps, elementwise_affine=True)
        self.attn = GPT2Attention(c)
        self.ln_2 = nn.LayerNorm(c["n_embd"], eps=eps, elementwise_affine=True)
        self.mlp = GPT2MLP(c)
        if not bias:  # nanoGPT's bias=False: LayerNorms without bias too
            self.ln_1.bias = None
            self.ln_2.bias = None

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT2Body(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.wte = nn.Embedding(c["vocab_size"], c["n_embd"])
        self.wpe = nn.Embedding(c["n_positions"], c["n_embd"])
        self.h = nn.ModuleList(GPT2Block(c) for _ in range(c["n_layer"]))
        self.ln_f = nn.LayerNorm(c["n_embd"], eps=c["layer_norm_epsilon"])
        if not c["bias"]:
            self.ln_f.bias = None


class GPT2LMHeadModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.config = c
        self.transformer = GPT2Body(c)

    def forward(self, ids):
        t = self.transformer
        pos = torch.arange(ids.shape[1], device=ids.device)
        x = t.wte(ids) + t.wpe(pos)
        for block in t.h:
            x = block(x)
        return F.linear(t.ln_f(x), t.wte.weight)  # tied head


# --- Llama -----------------------------------------------------------------------------------

class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_tables(head_dim, positions, theta):
    """cos / sin (positions, hd/2), rounded to float32 step by step exactly as tsgpt's src/nn/rope.ts."""
    f = np.float32
    half = head_dim // 2
    inv = np.array([f(1 / f(math.pow(theta, float(f(2 * i / head_dim))))) for i in range(half)], dtype=np.float32)
    angles = (np.arange(positions, dtype=np.float64)[:, None] * inv.astype(np.float64)[None, :]).astype(np.float32)
    a = angles.astype(np.float64)
    return torch.from_numpy(np.cos(a).astype(np.float32)), torch.from_numpy(np.sin(a).astype(np.float32))


def apply_rope(x, cos, sin):
    """Rotates halves of x (B, T, H, hd) by the tables' first T rows; returns (B, H, T, hd)."""
    T, half = x.shape[1], x.shape[3] // 2
    c, s = cos[:T, None, :], sin[:T, None, :]  # (T, 1, hd/2)
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([x1 * c - x2 * s, x2 * c + x1 * s], dim=-1).transpose(1, 2)


class LlamaAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        C, self.heads, self.kv_heads = c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"]
        self.head_dim = C // self.heads
        self.q_proj = nn.Linear(C, C, bias=False)
        self.k_proj = nn.Linear(C, self.kv_heads * self.head_dim, bias=False)
        self.v_proj = nn.Linear(C, self.kv_heads * self.head_dim, bias=False)
        self.o_proj = nn.Linear(C, C, bias=False)

    def forward(self, x, cos, sin):
        B, T, _ = x.shape
        hd = self.head_dim
        q = apply_rope(self.q_proj(x).view(B, T, self.heads, hd), cos, sin)
        k = apply_rope(self.k_proj(x).view(B, T, self.kv_heads, hd), cos, sin)
        v = self.v_proj(x).view(B, T, self.kv_heads, hd).transpose(1, 2)
        return self.o_proj(causal_attention(q, k, v))


class LlamaMLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        C, I = c["hidden_size"], c["intermediate_size"]
        self.gate_proj = nn.Linear(C, I, bias=False)
        self.up_proj = nn.Linear(C, I, bias=False)
        self.down_proj = nn.Linear(I, C, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class LlamaDecoderLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self_attn = LlamaAttention(c)
        self.mlp = LlamaMLP(c)
        self.input_layernorm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        self.post_attention_layernorm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])

    def forward(self, x, cos, sin):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin)
        return x + self.mlp(self.post_attention_layernorm(x))


class LlamaBody(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embed_tokens = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.layers = nn.ModuleList(LlamaDecoderLayer(c) for _ in range(c["num_hidden_layers"]))
        self.norm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])


class LlamaForCausalLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.config = c
        self.model = LlamaBody(c)
        self.lm_head = None if c["tie_word_embeddings"] else nn.Linear(c["hidden_size"], c["vocab_size"], bias=False)
        cos, sin = rope_tables(c["hidden_size"] // c["num_attention_heads"], c["max_position_embeddings"], c["rope_theta"])
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)

    def forward(self, ids):
        x = self.model.embed_tokens(ids)
        for layer in self.model.layers:
            x = layer(x, self.rope_cos, self.rope_sin)
        h = self.model.norm(x)
        return self.lm_head(h) if self.lm_head is not None else F.linear(h, self.model.embed_tokens.weight)


# --- building, weight decay, Hugging Face names -----------------------------------------------

def build_model(config):
    return LlamaForCausalLM(config) if config["model_type"] == "llama" else GPT2LMHeadModel(config)


def decays(model, name):
    """tsgpt's rule (src/nn): Linear weights decay; biases, norm weights and embeddings do not."""
    module_name, _, leaf = name.rpartition(".")
    return leaf == "weight" and isinstance(model.get_submodule(module_name), nn.Linear)


def canonical_name(config, name):
    """A file's tensor name as tsgpt names it (GPT-2 files may omit "transformer."), None for mask buffers."""
    if config["model_type"] != "gpt2":
        return name
    if GPT2_MASK_BUFFER.search(name):
        return None
    return name if name == "lm_head.weight" or name.startswith("transformer.") else "transformer." + name


def hf_to_params(config, tensors):
    """Hugging Face file tensors (name → float32 array) → tsgpt parameter layout."""
    out = {}
    for name, array in tensors.items():
        target = canonical_name(config, name)
        if target is None:
            continue
        out[target] = array.T if CONV1D_WEIGHT.match(target) else array
    if config["model_type"] == "gpt2" or config["tie_word_embeddings"]:
        out.pop("lm_head.weight", None)  # tied: the head is the token embedding
    return out


def params_to_hf(config, params):
    """tsgpt parameter layout → the tensors of model.safetensors, in parameter order."""
    return [(name, a.T if CONV1D_WEIGHT.match(name) else a) for name, a in params]
