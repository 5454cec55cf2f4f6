// KV-cache benchmark: time per generated token at position 16 and at position 1,024.
//
// With a KV cache, a decode step costs the same matmuls at every position; only attention
// grows with the position (it reads every cached key and value). Without a cache, producing the
// token at position P means running the whole P-token prefix again, which is what a prefill of
// P tokens costs: that is the reference printed beside each figure, measured in the same run.
//
//   npm run build && node dist/bench/generate_kv.js [--backend js|native] [--hidden 288 --layers 6 --heads 6 --kv-heads 6 --vocab 32000 --steps 16]
//   npx tsx bench/generate_kv.ts            (during development)
//
// The model is a random Llama with stories15M's shape (weights do not change the timing);
// --kv-heads below --heads makes it grouped-query attention.
import { parseArgs } from "node:util";
import { DecoderModel } from "../src/generate/decoder.js";
import { Generator } from "../src/tensor/random.js";
import { getBackend, setBackend } from "../src/backend/index.js";
import type { Checkpoint, StoredTensor } from "../src/formats/types.js";

const { values } = parseArgs({
  options: {
    backend: { type: "string" },
    hidden: { type: "string", default: "288" },
    layers: { type: "string", default: "6" },
    heads: { type: "string", default: "6" },
    "kv-heads": { type: "string" },
    vocab: { type: "string", default: "32000" },
    steps: { type: "string", default: "16" },
  },
});
if (values.backend === "js" || values.backend === "native") setBackend(values.backend);
const H = Number(values.hidden),
  L = Number(values.layers),
  NH = Number(values.heads),
  NKV = Number(values["kv-heads"] ?? NH),
  V = Number(values.vocab),
  STEPS = Number(values.steps);
const POSITIONS = [16, 1024];
const CONTEXT = 1024 + STEPS + 1;

function randomLlama(): Checkpoint {
  const rng = new Generator(1);
  const I = Math.round((8 * H) / 3 / 32) * 32;
  const t = new Map<string, StoredTensor>();
  const rand = (shape: number[], scale: number): StoredTensor => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = (rng.random() * 2 - 1) * scale;
    return { dtype: "F32", shape, data };
  };
  const ones = (n: number): StoredTensor => ({ dtype: "F32", shape: [n], data: new Float32Array(n).fill(1) });
  t.set("model.embed_tokens.weight", rand([V, H], 0.1));
  for (let l = 0; l < L; l++) {
    const p = `model.layers.${l}`;
    t.set(`${p}.input_layernorm.weight`, ones(H));
    for (const n of ["q", "o"]) t.set(`${p}.self_attn.${n}_proj.weight`, rand([H, H], 0.05));
    for (const n of ["k", "v"]) t.set(`${p}.self_attn.${n}_proj.weight`, rand([(H / NH) * NKV, H], 0.05));
    t.set(`${p}.post_attention_layernorm.weight`, ones(H));
    t.set(`${p}.mlp.gate_proj.weight`, rand([I, H], 0.05));
    t.set(`${p}.mlp.up_proj.weight`, rand([I, H], 0.05));
    t.set(`${p}.mlp.down_proj.weight`, rand([H, I], 0.05));
  }
  t.set("model.norm.weight", ones(H));
  return {
    config: {
      model_type: "llama",
      vocab_size: V,
      hidden_size: H,
      intermediate_size: I,
      num_hidden_layers: L,
      num_attention_heads: NH,
      num_key_value_heads: NKV,
      max_position_embeddings: CONTEXT,
      rms_norm_eps: 1e-5,
      rope_theta: 10000,
      tie_word_embeddings: true,
    },
    tensors: t,
    source: { path: "random-llama", format: "hf" },
  };
}

const model = DecoderModel.fromCheckpoint(randomLlama());
console.log(
  `backend ${getBackend().name}; random Llama: hidden ${H}, ${L} layers, ${NH} heads (${NKV} key/value), vocab ${V}; ${STEPS} decode steps per position`,
);
console.log("position | KV cache ms/token | no cache (prefill of the prefix) ms/token | ratio");
const rows: { pos: number; cached: number }[] = [];
for (const pos of POSITIONS) {
  const cache = model.createCache(1, pos + STEPS);
  const ids = Int32Array.from({ length: pos }, (_, i) => 3 + ((i * 7919) % (V - 3)));
  let t0 = performance.now();
  model.forward(cache, ids, Int32Array.from(ids.keys()), new Uint8Array(pos).fill(1), pos);
  const prefill = performance.now() - t0;
  t0 = performance.now();
  for (let s = 0; s < STEPS; s++) model.forward(cache, Int32Array.of(5 + s), Int32Array.of(pos + s), Uint8Array.of(1), 1);
  const cached = (performance.now() - t0) / STEPS;
  rows.push({ pos, cached });
  console.log(
    `${String(pos).padStart(8)} | ${cached.toFixed(2).padStart(17)} | ${prefill.toFixed(2).padStart(40)} | ${(prefill / cached).toFixed(1)}x`,
  );
}
const [a, b] = rows;
console.log(
  `per-token cost at position ${b!.pos} / at ${a!.pos}: ${(b!.cached / a!.cached).toFixed(2)}x (only attention grows with the position)`,
);
