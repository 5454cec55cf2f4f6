import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GGUFReader, writeGGUF, type GGUFValue } from "../../src/formats/gguf.js";
import { readGGUFCheckpoint, writeGGUFCheckpoint } from "../../src/formats/gguf_llama.js";
import { loadCheckpointSync, saveCheckpointSync } from "../../src/formats/load.js";
import { readSentencePieceVocab, vocabFromLlama2c } from "../../src/formats/vocab.js";
import type { StoredTensor } from "../../src/formats/types.js";
import { f32ToBf16, f32ToF16 } from "../../src/tensor/half.js";
import type { QuantDType } from "../../src/quant/types.js";
import { quantizeCheckpoint } from "../../src/quant/checkpoint.js";
import { sharedPath, skipUnlessShared } from "../helpers/shared.js";

const dir = mkdtempSync(join(tmpdir(), "tsgpt-gguf-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const md5 = (p: string) => createHash("md5").update(readFileSync(p)).digest("hex");

const metadata: Array<[string, GGUFValue]> = [
  ["general.architecture", { type: "string", value: "test" }],
  ["general.alignment", { type: "u32", value: 64 }],
  ["t.u8", { type: "u8", value: 255 }],
  ["t.i8", { type: "i8", value: -128 }],
  ["t.u16", { type: "u16", value: 65535 }],
  ["t.i16", { type: "i16", value: -32768 }],
  ["t.u32", { type: "u32", value: 4294967295 }],
  ["t.i32", { type: "i32", value: -2147483648 }],
  ["t.f32", { type: "f32", value: Math.fround(0.1) }],
  ["t.bool", { type: "bool", value: true }],
  ["t.string", { type: "string", value: "héllo ▁wörld" }],
  ["t.u64", { type: "u64", value: 18446744073709551615n }],
  ["t.i64", { type: "i64", value: -9223372036854775808n }],
  ["t.f64", { type: "f64", value: 0.1 }],
  ["t.array.f32", { type: "array", value: { elementType: "f32", values: [1.5, -2, 0] } }],
  ["t.array.string", { type: "array", value: { elementType: "string", values: ["a", "", "ünï"] } }],
  ["t.array.empty", { type: "array", value: { elementType: "i64", values: [] } }],
  [
    "t.array.nested",
    {
      type: "array",
      value: {
        elementType: "array",
        values: [
          { elementType: "u8", values: [1, 2] },
          { elementType: "bool", values: [false] },
        ],
      },
    },
  ],
];

function block(n: number, bytes: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: n * bytes }, (_, i) => (i * 31 + seed) & 0xff);
}

const tensors: Array<[string, StoredTensor]> = [
  ["a.f32", { dtype: "F32", shape: [3, 5], data: Float32Array.from({ length: 15 }, (_, i) => i / 7) }],
  ["b.f16", { dtype: "F16", shape: [7], data: f32ToF16(Float32Array.from([1, 2, 3, 4, 5, 6, -7])) }],
  ["c.bf16", { dtype: "BF16", shape: [2, 2, 3], data: f32ToBf16(Float32Array.from({ length: 12 }, (_, i) => -i)) }],
  ["d.q8_0", { dtype: "Q8_0", shape: [2, 64], data: block(4, 34, 1) }],
  ["e.q4_0", { dtype: "Q4_0", shape: [3, 32], data: block(3, 18, 2) }],
  ["f.q5_0", { dtype: "Q5_0", shape: [2, 32], data: block(2, 22, 3) }],
  ["h.q4_1", { dtype: "Q4_1", shape: [2, 64], data: block(4, 20, 5) }],
  ["g.q6_k", { dtype: "Q6_K", shape: [2, 256], data: block(2, 210, 4) }],
];

describe("GGUF container", () => {
  test("round-trips every metadata type and tensor type", () => {
    const p = join(dir, "all.gguf");
    writeGGUF(p, { metadata, tensors });
    const r = GGUFReader.open(p);
    try {
      assert.equal(r.version, 3);
      assert.equal(r.alignment, 64);
      assert.deepEqual([...r.metadata], metadata);
      assert.deepEqual(
        r.tensors.map((t) => t.name),
        tensors.map(([n]) => n),
      );
      for (const [name, t] of tensors) assert.deepEqual(r.read(name), t, name);
      for (const t of r.tensors) assert.equal(t.offset % 64, 0, `${t.name} aligned`);
    } finally {
      r.close();
    }
    // Dims are stored innermost first: c.bf16 [2, 2, 3] is written as 3, 2, 2.
    const buf = readFileSync(p);
    const at = buf.indexOf("c.bf16") + "c.bf16".length;
    assert.deepEqual(
      [
        buf.readUInt32LE(at),
        Number(buf.readBigUInt64LE(at + 4)),
        Number(buf.readBigUInt64LE(at + 12)),
        Number(buf.readBigUInt64LE(at + 20)),
      ],
      [3, 3, 2, 2],
    );
    // Writing what was read gives the same bytes.
    const again = join(dir, "again.gguf");
    const r2 = GGUFReader.open(p);
    writeGGUF(again, { metadata: r2.metadata, tensors: r2.tensors.map((t) => [t.name, r2.read(t.name)] as [string, StoredTensor]) });
    r2.close();
    assert.equal(md5(again), md5(p));
  });

  describe("rejects corrupt files with clear errors, without hanging", () => {
    const good = () => {
      const p = join(dir, "good.gguf");
      writeGGUF(p, { metadata, tensors });
      return readFileSync(p);
    };
    const patch = (f: (b: Buffer) => void) => () => {
      const b = Buffer.from(good());
      f(b);
      return b;
    };
    const cases: Array<[string, () => Buffer, RegExp]> = [
      ["empty", () => Buffer.alloc(0), /header: expected at least 24 bytes/],
      ["bad magic", patch((b) => b.write("GGUX", 0)), /magic: expected "GGUF", got "GGUX"/],
      ["version 2", patch((b) => b.writeUInt32LE(2, 4)), /version: expected 3 \(versions 1 and 2 are obsolete/],
      [
        "huge tensor count",
        patch((b) => b.writeBigUInt64LE(1n << 60n, 8)),
        /tensor_count: value 1152921504606846976 is larger than possible/,
      ],
      [
        "huge kv count",
        patch((b) => b.writeBigUInt64LE(0xffffffffffffffffn, 16)),
        /metadata_kv_count: value 18446744073709551615 is larger than possible/,
      ],
      [
        "huge key length",
        patch((b) => b.writeBigUInt64LE(1n << 40n, 24)),
        /metadata key 0 length: value 1099511627776 is larger than possible/,
      ],
      [
        "unknown value type",
        patch((b) => b.writeUInt32LE(99, 24 + 8 + "general.architecture".length)),
        /metadata general\.architecture type: unknown value type 99/,
      ],
      [
        "bad bool",
        patch((b) => {
          const at = b.indexOf("t.bool") + 6 + 4;
          b[at] = 7;
        }),
        /metadata t\.bool: expected a bool \(0 or 1\), got 7/,
      ],
      [
        "unsupported tensor type",
        patch((b) => {
          const at = b.indexOf("a.f32") + 5 + 4 + 16;
          b.writeUInt32LE(13, at);
        }),
        /tensor a\.f32 type: Q5_K tensors are not supported by tsgpt yet/,
      ],
      [
        "misaligned offset",
        patch((b) => {
          const at = b.indexOf("b.f16") + 5 + 4 + 8 + 4;
          b.writeBigUInt64LE(65n, at);
        }),
        /tensor b\.f16 offset: 65 is not a multiple of the alignment 64/,
      ],
      [
        "overlapping tensors",
        patch((b) => {
          const at = b.indexOf("b.f16") + 5 + 4 + 8 + 4;
          b.writeBigUInt64LE(0n, at);
        }),
        /tensor .* offset: data overlaps tensor/,
      ],
      [
        "too many dims",
        patch((b) => {
          const at = b.indexOf("a.f32") + 5;
          b.writeUInt32LE(9, at);
        }),
        /tensor a\.f32 n_dims: expected 1\.\.4, got 9/,
      ],
      [
        "huge dims",
        patch((b) => {
          const at = b.indexOf("a.f32") + 5 + 4;
          b.writeBigUInt64LE(1n << 50n, at);
        }),
        /tensor a\.f32 dims\[0\]: value .* is larger than possible/,
      ],
      [
        "q8_0 row not whole blocks",
        patch((b) => {
          const at = b.indexOf("d.q8_0") + 6 + 4;
          b.writeBigUInt64LE(48n, at);
          b.writeBigUInt64LE(2n, at + 8);
        }),
        /tensor d\.q8_0 dims: row length 48 is not a multiple of the Q8_0 block size 32/,
      ],
    ];
    for (const [what, make, re] of cases) {
      test(what, () => {
        const p = join(dir, `bad-${what.replace(/\W/g, "_")}.gguf`);
        writeFileSync(p, make());
        assert.throws(
          () => GGUFReader.open(p).close(),
          (err: Error) => {
            assert.match(err.message, re);
            assert.ok(err.message.startsWith(p));
            return true;
          },
        );
      });
    }

    test("every truncation of a valid file is rejected", () => {
      const b = good();
      const p = join(dir, "truncated.gguf");
      writeFileSync(p, b);
      const r = GGUFReader.open(p);
      const dataEnd = Math.max(...r.tensors.map((t) => t.offset + t.byteLength)); // only padding follows
      r.close();
      for (let len = 0; len < dataEnd; len += len < 600 ? 1 : 97) {
        writeFileSync(p, b.subarray(0, len));
        assert.throws(() => GGUFReader.open(p).close(), /truncated\.gguf: /, `prefix of ${len} bytes`);
      }
    });

    test("random garbage is rejected", () => {
      const p = join(dir, "garbage.gguf");
      let s = 1;
      for (let k = 0; k < 50; k++) {
        const b = good();
        for (let i = 24; i < b.length; i += 1 + (s % 53)) {
          s = (s * 1103515245 + 12345) >>> 0;
          b[i] = s >>> 24;
        }
        writeFileSync(p, b);
        try {
          GGUFReader.open(p).close();
        } catch (err) {
          assert.match((err as Error).message, /garbage\.gguf: /);
        }
      }
    });
  });
});

describe("Llama GGUF", { skip: skipUnlessShared("models", "stories260K", "stories260K.bin") }, () => {
  test("stories260K → GGUF → HF names → GGUF is identical", () => {
    const ck = loadCheckpointSync(sharedPath("models", "stories260K", "stories260K.bin"));
    const p = join(dir, "stories.gguf");
    saveCheckpointSync(p, ck, "gguf");
    const g = loadCheckpointSync(p);
    assert.equal(g.source.format, "gguf");
    assert.deepEqual(g.config, ck.config);
    assert.deepEqual([...g.tensors.keys()].sort(), [...ck.tensors.keys()].sort());
    for (const [name, t] of ck.tensors) assert.deepEqual(g.tensors.get(name), t, name);
    // The vocabulary came from tok512.model.
    const spm = readSentencePieceVocab(ck.tokenizerPath!);
    assert.deepEqual(g.vocab, spm);
    assert.equal(g.vocab!.tokens.length, 512);
    assert.equal(g.vocab!.tokens[1], "<s>");
    // Independently, the llama2.c tokenizer.bin has the same pieces and scores.
    const bin = vocabFromLlama2c(sharedPath("models", "stories260K", "tok512.bin"));
    assert.deepEqual(g.vocab!.tokens, bin.tokens);
    assert.deepEqual(g.vocab!.scores, bin.scores);
    assert.deepEqual(g.vocab!.tokenTypes, bin.tokenTypes);

    const again = join(dir, "stories-again.gguf");
    writeGGUFCheckpoint(again, g);
    assert.equal(md5(again), md5(p));
  });

  test("attn_q / attn_k are stored in llama2.c's adjacent-pairs order", () => {
    const p = join(dir, "stories.gguf");
    const raw = readFileSync(sharedPath("models", "stories260K", "stories260K.bin"));
    const dim = 64,
      vocab = 512,
      layers = 5;
    const wqOffset = 28 + 4 * (vocab * dim + layers * dim);
    const wq0 = new Float32Array(raw.buffer.slice(raw.byteOffset + wqOffset, raw.byteOffset + wqOffset + dim * dim * 4));
    const r = GGUFReader.open(p);
    try {
      assert.deepEqual(r.read("blk.0.attn_q.weight").data, wq0);
      assert.equal(r.metadata.get("llama.rope.dimension_count")!.value, 8);
      assert.equal(r.metadata.get("llama.attention.head_count_kv")!.value, 4);
      assert.equal(r.has("output.weight"), false);
    } finally {
      r.close();
    }
  });

  test("F16 export keeps norms in F32", () => {
    const ck = loadCheckpointSync(sharedPath("models", "stories260K", "stories260K.bin"));
    const p = join(dir, "stories-f16.gguf");
    saveCheckpointSync(p, ck, "gguf", { dtype: "F16" });
    const g = readGGUFCheckpoint(p);
    assert.equal(g.tensors.get("model.layers.0.input_layernorm.weight")!.dtype, "F32");
    const q = g.tensors.get("model.layers.0.self_attn.q_proj.weight")!;
    assert.equal(q.dtype, "F16");
    assert.deepEqual(q.data, f32ToF16(ck.tensors.get("model.layers.0.self_attn.q_proj.weight")!.data as Float32Array));
  });

  // dtype, ggml type id, llama.cpp's LLAMA_FTYPE_MOSTLY_* file type
  const exports: Array<[QuantDType, number, number]> = [
    ["Q5_0", 6, 8],
    ["Q4_1", 3, 3],
  ];
  for (const [dtype, ggmlType, fileType] of exports) {
    test(`${dtype} export: ggml type ${ggmlType}, llama.cpp's file type ${fileType}, the same bytes back`, () => {
      const ck = loadCheckpointSync(sharedPath("models", "stories260K", "stories260K.bin"));
      const q = quantizeCheckpoint(ck, dtype);
      const p = join(dir, `stories-${dtype}.gguf`);
      saveCheckpointSync(p, q, "gguf");
      const r = GGUFReader.open(p);
      try {
        assert.equal(r.metadata.get("general.file_type")?.value, fileType);
        assert.equal(r.tensors.find((t) => t.name === "blk.0.ffn_up.weight")!.dtype, dtype);
        assert.equal(r.tensors.find((t) => t.name === "token_embd.weight")!.dtype, "Q8_0"); // the tied output head, rows of 64
      } finally {
        r.close();
      }
      const buf = readFileSync(p);
      const at = buf.indexOf("blk.0.ffn_up.weight") + "blk.0.ffn_up.weight".length;
      assert.equal(buf.readUInt32LE(at + 4 + 16), ggmlType, "ggml type id after n_dims and two dims");
      const g = readGGUFCheckpoint(p);
      for (const [name, t] of q.tensors) {
        const u = g.tensors.get(name)!;
        assert.equal(u.dtype, t.dtype, name);
        assert.deepEqual(u.shape, t.shape, name);
        assert.ok(
          Buffer.from(u.data.buffer, u.data.byteOffset, u.data.byteLength).equals(
            Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength),
          ),
          name,
        );
      }
    });
  }

  test("a GGUF that is not llama is refused by name", () => {
    const p = join(dir, "other.gguf");
    writeGGUF(p, { metadata: [["general.architecture", { type: "string", value: "gpt2" }]], tensors: [] });
    assert.throws(() => readGGUFCheckpoint(p), /other\.gguf: general\.architecture: expected "llama" or "qwen2" or "qwen3", got "gpt2"/);
  });
});
