// The feed-forward activation, in place: gated (Llama: F1 = act(F1) ⊙ F2, F1 = gate · h and
// F2 = up · h) or plain (GPT-2: F1 = act(F1)). act is SiLU or GELU's tanh form, written as the
// js backend computes them. (F2 is bound either way: a binding the shader never reads would
// drop out of the pipeline's automatic layout.)
export const FFN_THREADS = 64;

export type Activation = "silu" | "gelu_tanh";

const ACT: Record<Activation, string> = {
  silu: "x / (1.0 + exp(-x))",
  // tanh of a large |x| overflows exp on some drivers: clamp where tanh is ±1 in f32 anyway.
  gelu_tanh: "0.5 * x * (1.0 + tanh(clamp(0.79788456080286536 * (x + 0.044715 * x * x * x), -15.0, 15.0)))",
};

export const ffnWgsl = (act: Activation) => (): string =>
  /* wgsl */ `
struct P { count: u32, gated: u32 };
@group(0) @binding(0) var<storage, read_write> F1: array<f32>;
@group(0) @binding(1) var<storage, read> F2: array<f32>;
@group(0) @binding(2) var<uniform> p: P;
fn act(x: f32) -> f32 { return ${ACT[act]}; }
@compute @workgroup_size(${FFN_THREADS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let o = (wid.y * nwg.x + wid.x) * ${FFN_THREADS}u + lid.x;
  if (o >= p.count) { return; }
  var v = act(F1[o]);
  if (p.gated == 1u) { v *= F2[o]; }
  F1[o] = v;
}`;
