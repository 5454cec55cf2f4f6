// Hugging Face conventions checked against PyTorch: a tiny GPT-2 and a tiny Llama (GQA) are
// saved as HF safetensors, read by a PyTorch transcription of the HF modeling code
// (rotate-halves RoPE, repeat_kv, gelu_new, Conv1D weights stored (in, out)), and must give the
// same logits, loss and parameter gradients. Skips when /usr/bin/python3 cannot import torch.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createModel, modelToCheckpoint, type ModelConfig } from "../../src/models/index.js";
import { saveHFCheckpoint } from "../../src/formats/hf.js";
import { python } from "../formats/python.js";
import { assertClose, ids2d, randomizeParameters, tinyGPT2Config, tinyLlamaConfig } from "./tiny.js";

function skipUnlessTorch(): false | string {
  const ok = existsSync(python) && spawnSync(python, ["-c", "import torch, numpy"], { stdio: "ignore" }).status === 0;
  return ok ? false : `PyTorch not available via ${python} (set TSGPT_PYTHON)`;
}

const SCRIPT = String.raw`
import json, struct, sys, math
import numpy as np
import torch
torch.set_grad_enabled(True)
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

def attention(q, k, v):  # q (B, nH, T, hd), k/v (B, nKV, T, hd)
    rep = q.shape[1] // k.shape[1]
    k = k.repeat_interleave(rep, dim=1); v = v.repeat_interleave(rep, dim=1)  # HF repeat_kv
    s = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    causal = torch.ones(T, T, dtype=torch.bool).tril()
    s = s.masked_fill(~causal, torch.finfo(torch.float32).min)
    return torch.softmax(s, -1) @ v

def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))

def layer_norm(x, w, b, eps):
    return torch.nn.functional.layer_norm(x, (x.shape[-1],), w, b, eps)

if cfg["model_type"] == "gpt2":
    C, nH, eps = cfg["n_embd"], cfg["n_head"], cfg["layer_norm_epsilon"]
    hd = C // nH
    g = lambda k: W.get("transformer." + k)
    h = g("wte.weight")[x_ids] + g("wpe.weight")[torch.arange(T)]
    for l in range(cfg["n_layer"]):
        p = "h.%d." % l
        a = layer_norm(h, g(p + "ln_1.weight"), g(p + "ln_1.bias"), eps)
        qkv = a @ g(p + "attn.c_attn.weight")  # Conv1D: weight stored (in, out)
        if g(p + "attn.c_attn.bias") is not None: qkv = qkv + g(p + "attn.c_attn.bias")
        q, k, v = [t.view(B, T, nH, hd).transpose(1, 2) for t in qkv.split(C, -1)]
        y = attention(q, k, v).transpose(1, 2).reshape(B, T, C) @ g(p + "attn.c_proj.weight")
        if g(p + "attn.c_proj.bias") is not None: y = y + g(p + "attn.c_proj.bias")
        h = h + y
        a = layer_norm(h, g(p + "ln_2.weight"), g(p + "ln_2.bias"), eps)
        m = a @ g(p + "mlp.c_fc.weight")
        if g(p + "mlp.c_fc.bias") is not None: m = m + g(p + "mlp.c_fc.bias")
        m = gelu_new(m) @ g(p + "mlp.c_proj.weight")
        if g(p + "mlp.c_proj.bias") is not None: m = m + g(p + "mlp.c_proj.bias")
        h = h + m
    h = layer_norm(h, g("ln_f.weight"), g("ln_f.bias"), eps)
    logits = h @ g("wte.weight").t()
else:
    C, nH, nKV, eps = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["rms_norm_eps"]
    hd = C // nH
    def rms(x, w): return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))
    inv_freq = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))
    freqs = torch.outer(torch.arange(T).float(), inv_freq)
    emb = torch.cat((freqs, freqs), -1)
    cos, sin = emb.cos(), emb.sin()
    def rotate_half(x): return torch.cat((-x[..., hd // 2:], x[..., :hd // 2]), -1)
    def rope(x): return x * cos + rotate_half(x) * sin
    g = lambda k: W.get("model." + k)
    h = g("embed_tokens.weight")[x_ids]
    for l in range(cfg["num_hidden_layers"]):
        p = "layers.%d." % l
        a = rms(h, g(p + "input_layernorm.weight"))
        q = (a @ g(p + "self_attn.q_proj.weight").t()).view(B, T, nH, hd).transpose(1, 2)
        k = (a @ g(p + "self_attn.k_proj.weight").t()).view(B, T, nKV, hd).transpose(1, 2)
        v = (a @ g(p + "self_attn.v_proj.weight").t()).view(B, T, nKV, hd).transpose(1, 2)
        y = attention(rope(q), rope(k), v).transpose(1, 2).reshape(B, T, C)
        h = h + y @ g(p + "self_attn.o_proj.weight").t()
        a = rms(h, g(p + "post_attention_layernorm.weight"))
        m = torch.nn.functional.silu(a @ g(p + "mlp.gate_proj.weight").t()) * (a @ g(p + "mlp.up_proj.weight").t())
        h = h + m @ g(p + "mlp.down_proj.weight").t()
    h = rms(h, g("norm.weight"))
    head = W.get("lm_head.weight", g("embed_tokens.weight"))
    logits = h @ head.t()
loss = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), x_ids[:, 1:].reshape(-1))
loss.backward()
grads = {}
for k, w in W.items():
    gr = w.grad
    if cfg["model_type"] == "gpt2" and gr.dim() == 2 and any(s in k for s in ("c_attn", "c_proj", "c_fc")): gr = gr.t()
    grads[k] = gr.contiguous().reshape(-1).tolist()
json.dump({"logits": logits.detach().reshape(-1).tolist(), "loss": loss.item(), "grads": grads}, sys.stdout)
`;

interface TorchResult {
  logits: number[];
  loss: number;
  grads: Record<string, number[]>;
}

const IDS = [
  [3, 7, 1, 19, 4, 22, 8, 11],
  [2, 2, 14, 5, 9, 0, 13, 6],
];

function compareWithTorch(config: ModelConfig): void {
  const model = createModel(config, { seed: 21 });
  randomizeParameters(model, 22, 0.3);
  const dir = mkdtempSync(join(tmpdir(), "tsgpt-torch-"));
  try {
    saveHFCheckpoint(dir, modelToCheckpoint(model));
    const r = spawnSync(python, ["-c", SCRIPT, dir, JSON.stringify(IDS)], { maxBuffer: 64 << 20 });
    assert.equal(r.status, 0, `python failed: ${r.stderr?.toString()}`);
    const ref = JSON.parse(r.stdout.toString()) as TorchResult;
    const ids = ids2d(IDS);
    const out = model.forward(ids, { labels: ids });
    assertClose(out.logits.data(), ref.logits, 1e-4, "logits");
    assert.ok(Math.abs(out.loss!.item() - ref.loss) < 1e-5, `loss ${out.loss!.item()} vs torch ${ref.loss}`);
    out.loss!.backward();
    for (const [name, p] of model.namedParameters()) {
      const g = ref.grads[name];
      assert.ok(g, `torch has no gradient for ${name}`);
      const scale = Math.max(1e-3, ...g.map(Math.abs));
      assertClose(p.grad!.data(), g, 1e-4 * scale + 1e-6, `gradient of ${name}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const skip = skipUnlessTorch();

test("GPT-2 logits, loss and gradients equal a PyTorch transcription of HF's GPT2LMHeadModel", { skip }, () => {
  compareWithTorch(tinyGPT2Config());
});

test("Llama (GQA, untied) logits, loss and gradients equal a PyTorch transcription of HF's LlamaForCausalLM", { skip }, () => {
  compareWithTorch(tinyLlamaConfig({ rope_theta: 500 }));
});

test("Llama (tied, one kv head) equals PyTorch", { skip }, () => {
  compareWithTorch(tinyLlamaConfig({ tie_word_embeddings: true, num_key_value_heads: 1 }));
});
