import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { readLlama2c, writeLlama2c, isLlama2cCheckpoint } from "../../src/formats/llama2c.js";
import { readLlama2cTokenizer, writeLlama2cTokenizer } from "../../src/formats/llama2c_tokenizer.js";
import { parameterCount } from "../../src/formats/load.js";
import type { Checkpoint, LlamaConfig, StoredTensor } from "../../src/formats/types.js";
import { sharedPath, skipUnlessShared } from "../helpers/shared.js";
import { python, runPython, skipUnlessNumpy } from "./python.js";

const dir = mkdtempSync(join(tmpdir(), "tsgpt-llama2c-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const skip = skipUnlessShared("models", "stories260K", "stories260K.bin");
const binPath = () => sharedPath("models", "stories260K", "stories260K.bin");
const md5 = (p: string) => createHash("md5").update(readFileSync(p)).digest("hex");

describe("llama2.c checkpoint", { skip }, () => {
  test("stories260K.bin is the expected file", () => {
    assert.equal(md5(binPath()), "961b3bc7c4d82d90ca963f02b7e0de5d");
  });

  test("loads with the config of the README", () => {
    const ck = readLlama2c(binPath());
    const c = ck.config as LlamaConfig;
    assert.equal(ck.source.format, "llama2c");
    assert.deepEqual(
      [
        c.hidden_size,
        c.intermediate_size,
        c.num_hidden_layers,
        c.num_attention_heads,
        c.num_key_value_heads,
        c.vocab_size,
        c.max_position_embeddings,
      ],
      [64, 172, 5, 8, 4, 512, 512],
    );
    assert.equal(c.tie_word_embeddings, true);
    assert.equal(c.rms_norm_eps, 1e-5);
    assert.equal(c.rope_theta, 10000);
    assert.equal(ck.tensors.has("lm_head.weight"), false);
    assert.equal(parameterCount(ck), 260_032);
    assert.equal(ck.tensors.get("model.embed_tokens.weight")!.data.length, 32_768);
    assert.deepEqual(ck.tensors.get("model.layers.4.self_attn.k_proj.weight")!.shape, [32, 64]);
    assert.deepEqual(ck.tensors.get("model.layers.0.mlp.down_proj.weight")!.shape, [64, 172]);
    assert.ok(isLlama2cCheckpoint(binPath()));
  });

  test("q/k rows are permuted exactly like HF's conversion (numpy reference)", { skip: skipUnlessNumpy() }, () => {
    const ck = readLlama2c(binPath());
    // The HF conversion script's permute(), on the raw wq / wk of layer 2, read straight from the file.
    const out = runPython(
      `
import sys, numpy as np
h = np.fromfile(sys.argv[1], dtype=np.int32, count=7)
dim, hidden, L, nh, nkv, vocab, seq = [int(x) for x in h]
f = np.fromfile(sys.argv[1], dtype=np.float32, offset=28)
hs = dim // nh; kv = nkv * hs
o = vocab * dim + L * dim
wq = f[o:o + L * dim * dim].reshape(L, dim, dim)[2]
o += L * dim * dim
wk = f[o:o + L * kv * dim].reshape(L, kv, dim)[2]
def permute(w, n_heads, dim1, dim2):
    return w.reshape(n_heads, dim1 // n_heads // 2, 2, dim2).transpose(0, 2, 1, 3).reshape(dim1, dim2)
sys.stdout.buffer.write(permute(wq, nh, dim, dim).tobytes() + permute(wk, nkv, kv, dim).tobytes())
`,
      undefined,
      [binPath()],
    );
    const ref = new Float32Array(new Uint8Array(out).buffer);
    const q = ck.tensors.get("model.layers.2.self_attn.q_proj.weight")!.data as Float32Array;
    const k = ck.tensors.get("model.layers.2.self_attn.k_proj.weight")!.data as Float32Array;
    assert.deepEqual(q, ref.subarray(0, 64 * 64));
    assert.deepEqual(k, ref.subarray(64 * 64));
  });

  test("read → write gives back the identical file", () => {
    const out = join(dir, "copy.bin");
    writeLlama2c(out, readLlama2c(binPath()));
    assert.equal(md5(out), "961b3bc7c4d82d90ca963f02b7e0de5d");
  });

  test("without the kept RoPE tables, only the table bytes differ", () => {
    const ck = readLlama2c(binPath());
    const out = join(dir, "no-extras.bin");
    writeLlama2c(out, { ...ck, extras: undefined });
    const a = readFileSync(out),
      b = readFileSync(binPath());
    assert.equal(a.length, b.length);
    const tables = 2 * 512 * 4 * 4;
    assert.ok(a.subarray(0, a.length - tables).equals(b.subarray(0, b.length - tables)));
    const ta = new Float32Array(a.buffer.slice(a.length - tables)),
      tb = new Float32Array(b.buffer.slice(b.length - tables));
    for (let i = 0; i < ta.length; i++) assert.ok(Math.abs(ta[i]! - tb[i]!) < 1e-5, `RoPE table ${i}: ${ta[i]} vs ${tb[i]}`);
  });

  test("an unshared classifier is written after the tables (negative vocab) and read back", () => {
    const ck = readLlama2c(binPath());
    const emb = ck.tensors.get("model.embed_tokens.weight")!;
    const head: StoredTensor = { dtype: "F32", shape: [...emb.shape], data: (emb.data as Float32Array).map((x) => x * 2) };
    const tensors = new Map(ck.tensors).set("lm_head.weight", head);
    const unshared: Checkpoint = { ...ck, tensors, config: { ...(ck.config as LlamaConfig), tie_word_embeddings: false } };
    const out = join(dir, "unshared.bin");
    writeLlama2c(out, unshared);
    const buf = readFileSync(out);
    assert.equal(buf.readInt32LE(20), -512);
    assert.equal(buf.length, 1_056_540 + 512 * 64 * 4);
    const back = readLlama2c(out);
    assert.equal((back.config as LlamaConfig).tie_word_embeddings, false);
    assert.deepEqual(back.tensors.get("lm_head.weight")!.data, head.data);
    assert.equal(parameterCount(back), 260_032 + 32_768);
  });

  test("writes F16 / BF16 checkpoints as float32", () => {
    const ck = readLlama2c(binPath());
    const emb = ck.tensors.get("model.embed_tokens.weight")!;
    const tensors = new Map(ck.tensors).set("model.embed_tokens.weight", {
      dtype: "BF16",
      shape: emb.shape,
      data: new Uint16Array(emb.data.length).fill(0x3f80),
    });
    const out = join(dir, "bf16.bin");
    writeLlama2c(out, { ...ck, tensors });
    assert.deepEqual(readLlama2c(out).tensors.get("model.embed_tokens.weight")!.data, new Float32Array(emb.data.length).fill(1));
  });

  describe("rejects corrupt files", () => {
    const bytes = () => readFileSync(binPath());
    const cases: Array<[string, () => Buffer, RegExp]> = [
      ["empty", () => Buffer.alloc(0), /header: expected a 28-byte header/],
      [
        "truncated",
        () => bytes().subarray(0, 1_000_000),
        /file size: .* implies 1056540 bytes with a shared classifier, the file has 1000000 \(truncated\?\)/,
      ],
      ["one extra byte", () => Buffer.concat([bytes(), Buffer.alloc(1)]), /file size: .*the file has 1056541/],
      [
        "wrong classifier sign",
        () => {
          const b = Buffer.from(bytes());
          b.writeInt32LE(-512, 20);
          return b;
        },
        /is the sign of vocab_size wrong/,
      ],
      [
        "zero heads",
        () => {
          const b = Buffer.from(bytes());
          b.writeInt32LE(0, 12);
          return b;
        },
        /n_heads: expected a positive integer, got 0/,
      ],
      [
        "heads not dividing dim",
        () => {
          const b = Buffer.from(bytes());
          b.writeInt32LE(7, 12);
          return b;
        },
        /n_heads: dim 64 is not divisible by n_heads 7/,
      ],
      [
        "bad kv heads",
        () => {
          const b = Buffer.from(bytes());
          b.writeInt32LE(3, 16);
          return b;
        },
        /n_kv_heads: 3 must divide n_heads 8/,
      ],
      [
        "huge dims",
        () => {
          const b = Buffer.from(bytes());
          b.writeInt32LE(0x7ffffff0, 4);
          return b;
        },
        /file size: .*hidden_dim=2147483632/,
      ],
      [
        "version-1 export",
        () => {
          const b = Buffer.alloc(256);
          b.writeUInt32LE(0x616b3432, 0);
          b.writeInt32LE(1, 4);
          return b;
        },
        /magic: .*version 1/,
      ],
      [
        "garbage text",
        () => Buffer.from("Once upon a time there was a file that was not a checkpoint."),
        /(file size|n_heads|expected a positive)/,
      ],
    ];
    for (const [what, make, re] of cases) {
      test(what, () => {
        const p = join(dir, `bad-${what.replace(/\W/g, "_")}.bin`);
        writeFileSync(p, make());
        assert.throws(
          () => readLlama2c(p),
          (err: Error) => {
            assert.match(err.message, re);
            assert.ok(err.message.startsWith(p));
            return true;
          },
        );
        assert.equal(isLlama2cCheckpoint(p), false);
      });
    }
  });
});

describe("llama2.c tokenizer.bin", { skip: skipUnlessShared("models", "stories260K", "tok512.bin") }, () => {
  const tokPath = () => sharedPath("models", "stories260K", "tok512.bin");

  test("reads tok512.bin", () => {
    const v = readLlama2cTokenizer(tokPath(), 512);
    assert.equal(v.pieces.length, 512);
    assert.equal(v.scores.length, 512);
    assert.equal(v.pieces[0], "<unk>");
    assert.equal(v.pieces[1], "\n<s>\n");
    assert.equal(v.pieces[2], "\n</s>\n");
    assert.equal(v.pieces[3], "<0x00>");
    assert.equal(v.pieces[258], "<0xFF>");
    assert.equal(v.maxTokenLength, Math.max(...v.pieces.map((p) => Buffer.byteLength(p))));
  });

  test("pieces and scores equal the SentencePiece model's (U+2581 as space)", {
    skip:
      spawnSync(python, ["-c", "import sentencepiece"]).status === 0
        ? skipUnlessShared("models", "stories260K", "tok512.model")
        : "python sentencepiece not available",
  }, () => {
    const out = runPython(
      `
import sys, json, sentencepiece as spm
sp = spm.SentencePieceProcessor(model_file=sys.argv[1])
print(json.dumps([[sp.id_to_piece(i), sp.get_score(i)] for i in range(sp.vocab_size())]))
`,
      undefined,
      [sharedPath("models", "stories260K", "tok512.model")],
    );
    const ref = JSON.parse(out.toString()) as Array<[string, number]>;
    const v = readLlama2cTokenizer(tokPath());
    assert.equal(v.pieces.length, ref.length);
    for (let i = 3; i < ref.length; i++) {
      assert.equal(v.pieces[i], ref[i]![0].replaceAll("\u2581", " "), `piece ${i}`);
      assert.equal(v.scores[i], Math.fround(ref[i]![1]), `score ${i}`);
    }
  });

  test("write → read round-trips byte for byte", () => {
    const out = join(dir, "tok.bin");
    writeLlama2cTokenizer(out, readLlama2cTokenizer(tokPath()));
    assert.ok(readFileSync(out).equals(readFileSync(tokPath())));
  });

  test("rejects truncated and garbage files, and a wrong vocabulary size", () => {
    const b = readFileSync(tokPath());
    const cut = join(dir, "tok-cut.bin");
    writeFileSync(cut, b.subarray(0, b.length - 3));
    assert.throws(() => readLlama2cTokenizer(cut), /tok-cut\.bin: token 511 bytes: expected \d+ bytes at offset/);
    const garbage = join(dir, "tok-garbage.bin");
    writeFileSync(garbage, Buffer.from([7, 0, 0, 0, 0, 0, 128, 63, 255, 255, 255, 255]));
    assert.throws(() => readLlama2cTokenizer(garbage), /token 0 length: expected 0\.\.7 .* got -1/);
    assert.throws(() => readLlama2cTokenizer(tokPath(), 32000), /vocabulary: expected 32000 tokens/);
    const tiny = join(dir, "tok-tiny.bin");
    writeFileSync(tiny, Buffer.from([1, 0]));
    assert.throws(() => readLlama2cTokenizer(tiny), /max_token_length: expected a 4-byte int32 header/);
  });
});
