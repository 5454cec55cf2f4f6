// Row permutation of Llama's q_proj / k_proj weights between the two rotary layouts.
//
// RoPE rotates pairs of dimensions within each attention head. Meta's original code, llama2.c
// and GGUF pair ADJACENT dimensions (2i, 2i+1); Hugging Face pairs the two HALVES (i, i + d/2).
// Both compute the same model if the rows of q_proj and k_proj are reordered per head:
//
//   halves[h*d + j*(d/2) + i] = pairs[h*d + 2*i + j]      (j = 0, 1;  i < d/2;  d = head_dim)
//
// which is HF's conversion script `w.view(n_heads, d/2, 2, dim).transpose(1, 2).reshape(...)`.
// Rows are moved as whole byte runs, so this works for any dtype, including quantized blocks.
import type { StoredTensor } from "./types.js";
import { bytesOf, viewAs } from "./dtypes.js";

function permuteRows(t: StoredTensor, nHeads: number, toHalves: boolean): StoredTensor {
  const rows = t.shape[0]!;
  if (t.shape.length !== 2 || rows % nHeads !== 0 || (rows / nHeads) % 2 !== 0) {
    throw new RangeError(`rotary permutation: shape [${t.shape.join(", ")}] does not split into ${nHeads} heads of even size`);
  }
  const d = rows / nHeads;
  const half = d / 2;
  const src = bytesOf(t.data);
  const rowBytes = src.length / rows;
  const dst = new Uint8Array(new ArrayBuffer(src.length));
  for (let h = 0; h < nHeads; h++) {
    for (let j = 0; j < 2; j++) {
      for (let i = 0; i < half; i++) {
        const hRow = h * d + j * half + i; // row in the rotate-halves layout
        const pRow = h * d + 2 * i + j; // row in the adjacent-pairs layout
        const [from, to] = toHalves ? [pRow, hRow] : [hRow, pRow];
        dst.set(src.subarray(from * rowBytes, (from + 1) * rowBytes), to * rowBytes);
      }
    }
  }
  return { dtype: t.dtype, shape: [...t.shape], data: viewAs(t.dtype, dst) };
}

/** From the adjacent-pairs layout (llama2.c, GGUF) to Hugging Face's rotate-halves layout. */
export function pairsToHalves(t: StoredTensor, nHeads: number): StoredTensor {
  return permuteRows(t, nHeads, true);
}

/** From Hugging Face's rotate-halves layout back to adjacent pairs (llama2.c, GGUF). */
export function halvesToPairs(t: StoredTensor, nHeads: number): StoredTensor {
  return permuteRows(t, nHeads, false);
}
