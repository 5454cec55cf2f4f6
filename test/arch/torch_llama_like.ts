// A PyTorch transcription of transformers' modelling for the Llama-like families (LlamaForCausalLM,
// Qwen2ForCausalLM, MistralForCausalLM, Qwen3ForCausalLM): it reads an HF directory (config.json,
// model.safetensors in f32) and prints logits, loss and parameter gradients as JSON. What differs
// between the families is read from config.json the way transformers reads it: q/k/v biases
// (present in the file for Qwen2), head_dim, q_norm / k_norm (Qwen3, RMSNorm over each head
// before RoPE), sliding_window (Mistral; keys j with i − W < j ≤ i), rope_scaling "llama3".
export const TORCH_LLAMA_LIKE = String.raw`
import json, struct, sys, math
import numpy as np
import torch
d, ids = sys.argv[1], json.loads(sys.argv[2])
cfg = json.load(open(d + "/config.json"))
raw = open(d + "/model.safetensors", "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + n])
W = {}
for k, v in header.items():
    if k == "__metadata__": continue
    a, b = v["data_offsets"]
    arr = np.frombuffer(raw[8 + n + a:8 + n + b], dtype=np.float32).reshape(v["shape"]).copy()
    W[k] = torch.tensor(arr, requires_grad=True)
x_ids = torch.tensor(ids, dtype=torch.long)
B, T = x_ids.shape
mt = cfg["model_type"]
C, nH, eps = cfg["hidden_size"], cfg["num_attention_heads"], cfg["rms_norm_eps"]
nKV = cfg.get("num_key_value_heads") or nH
hd = cfg.get("head_dim") or C // nH
window = cfg.get("sliding_window") if mt == "mistral" or cfg.get("use_sliding_window") else None

def rms(x, w): return w * (x.float() * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))

# transformers' rope init: default, or "llama3" (_compute_llama3_parameters)
inv_freq = 1.0 / (cfg.get("rope_theta", 10000.0) ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))
rs = cfg.get("rope_scaling")
if rs is not None:
    assert rs.get("rope_type", rs.get("type")) == "llama3"
    factor, lo, hi, old = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"], rs["original_max_position_embeddings"]
    lo_wl, hi_wl = old / lo, old / hi
    wavelen = 2 * math.pi / inv_freq
    f = torch.where(wavelen > lo_wl, inv_freq / factor, inv_freq)
    smooth = (old / wavelen - lo) / (hi - lo)
    smoothed = (1 - smooth) * f / factor + smooth * f
    medium = ~(wavelen < hi_wl) * ~(wavelen > lo_wl)
    inv_freq = torch.where(medium, smoothed, f)
freqs = torch.outer(torch.arange(T).float(), inv_freq)
emb = torch.cat((freqs, freqs), -1)
cos, sin = emb.cos(), emb.sin()
def rotate_half(x): return torch.cat((-x[..., hd // 2:], x[..., :hd // 2]), -1)
def rope(x): return x * cos + rotate_half(x) * sin

i = torch.arange(T)
allowed = i[None, :] <= i[:, None]
if window is not None: allowed = allowed & (i[None, :] > i[:, None] - window)

def attention(q, k, v):
    rep = q.shape[1] // k.shape[1]
    k = k.repeat_interleave(rep, dim=1); v = v.repeat_interleave(rep, dim=1)
    s = q @ k.transpose(-1, -2) / math.sqrt(hd)
    s = s.masked_fill(~allowed, torch.finfo(torch.float32).min)
    return torch.softmax(s, -1) @ v

g = lambda k: W.get("model." + k)
def proj(a, name):
    y = a @ g(name + ".weight").t()
    bias = g(name + ".bias")
    return y if bias is None else y + bias
h = g("embed_tokens.weight")[x_ids]
for l in range(cfg["num_hidden_layers"]):
    p = "layers.%d." % l
    a = rms(h, g(p + "input_layernorm.weight"))
    q = proj(a, p + "self_attn.q_proj").view(B, T, nH, hd)
    k = proj(a, p + "self_attn.k_proj").view(B, T, nKV, hd)
    v = proj(a, p + "self_attn.v_proj").view(B, T, nKV, hd)
    if g(p + "self_attn.q_norm.weight") is not None:
        q = rms(q, g(p + "self_attn.q_norm.weight")); k = rms(k, g(p + "self_attn.k_norm.weight"))
    q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
    y = attention(rope(q), rope(k), v).transpose(1, 2).reshape(B, T, nH * hd)
    h = h + proj(y, p + "self_attn.o_proj")
    a = rms(h, g(p + "post_attention_layernorm.weight"))
    m = torch.nn.functional.silu(proj(a, p + "mlp.gate_proj")) * proj(a, p + "mlp.up_proj")
    h = h + proj(m, p + "mlp.down_proj")
h = rms(h, g("norm.weight"))
head = W.get("lm_head.weight", g("embed_tokens.weight"))
logits = h @ head.t()
loss = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), x_ids[:, 1:].reshape(-1))
loss.backward()
grads = {k: w.grad.contiguous().reshape(-1).tolist() for k, w in W.items()}
json.dump({"logits": logits.detach().reshape(-1).tolist(), "loss": loss.item(), "grads": grads}, sys.stdout)
`;
