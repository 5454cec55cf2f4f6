// A GGUF header larger than the writer's first 64 KiB buffer (Llama 2's 32000-piece vocabulary
// is ~0.5 MB): every value written while the buffer grows must land in the file.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GGUFReader, writeGGUF, type GGUFArray } from "../../src/formats/gguf.js";

test("metadata larger than 64 KiB round-trips, values written across buffer growth included", () => {
  const dir = mkdtempSync(join(tmpdir(), "tsgpt-gguf-big-"));
  try {
    const path = join(dir, "big.gguf");
    const tokens = Array.from({ length: 40000 }, (_, i) => `piece${i}`);
    const ids = Array.from({ length: 30000 }, (_, i) => (i * 2654435761) >>> 0);
    writeGGUF(path, {
      metadata: [
        ["tokenizer.ggml.tokens", { type: "array", value: { elementType: "string", values: tokens } }],
        ["test.ids", { type: "array", value: { elementType: "u32", values: ids } }],
        ["test.after", { type: "u64", value: 12345678901234n }],
      ],
      tensors: [["w", { dtype: "F32", shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) }]],
    });
    const r = GGUFReader.open(path);
    try {
      assert.deepEqual((r.metadata.get("tokenizer.ggml.tokens")!.value as GGUFArray).values, tokens);
      assert.deepEqual((r.metadata.get("test.ids")!.value as GGUFArray).values, ids);
      assert.equal(r.metadata.get("test.after")!.value, 12345678901234n);
      assert.deepEqual([...(r.read("w").data as Float32Array)], [1, 2, 3, 4, 5, 6]);
    } finally {
      r.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
