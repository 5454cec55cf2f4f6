import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SafetensorsReader, readSafetensors, writeSafetensors } from "../../src/formats/safetensors.js";
import type { StoredTensor } from "../../src/formats/types.js";
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from "../../src/tensor/half.js";
import { runPython, skipUnlessNumpy } from "./python.js";

const dir = mkdtempSync(join(tmpdir(), "tsgpt-safetensors-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function sampleTensors(): Map<string, StoredTensor> {
  const f = new Float32Array(24).map((_, i) => (i - 11.5) / 3);
  return new Map<string, StoredTensor>([
    ["model.f32", { dtype: "F32", shape: [2, 3, 4], data: f }],
    ["model.f16", { dtype: "F16", shape: [4, 6], data: f32ToF16(f) }],
    ["model.bf16", { dtype: "BF16", shape: [24], data: f32ToBf16(f) }],
    ["ids.i32", { dtype: "I32", shape: [5], data: Int32Array.from([0, -1, 2147483647, -2147483648, 7]) }],
    ["ids.i64", { dtype: "I64", shape: [3], data: BigInt64Array.from([0n, -9007199254740993n, 9223372036854775807n]) }],
    ["bytes.u8", { dtype: "U8", shape: [2, 2], data: Uint8Array.from([0, 1, 254, 255]) }],
    ["mask.bool", { dtype: "BOOL", shape: [3], data: Uint8Array.from([1, 0, 1]) }],
    ["scalar", { dtype: "F32", shape: [], data: Float32Array.from([42]) }],
    ["empty", { dtype: "F32", shape: [0, 3], data: new Float32Array(0) }],
  ]);
}

/** Builds a safetensors file from a raw header object and data bytes (for corrupt-file tests). */
function rawFile(name: string, header: unknown, data: Uint8Array, headerLen?: number): string {
  const json = Buffer.from(JSON.stringify(header));
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(headerLen ?? json.length));
  const p = join(dir, name);
  writeFileSync(p, Buffer.concat([prefix, json, data]));
  return p;
}

describe("safetensors", () => {
  test("round-trips every dtype, shape and metadata", () => {
    const p = join(dir, "all.safetensors");
    const tensors = sampleTensors();
    writeSafetensors(p, tensors, { format: "pt", note: "ünïcode" });
    const back = readSafetensors(p);
    assert.deepEqual(back.metadata, { format: "pt", note: "ünïcode" });
    assert.deepEqual([...back.tensors.keys()], [...tensors.keys()]);
    for (const [name, t] of tensors) {
      const b = back.tensors.get(name)!;
      assert.equal(b.dtype, t.dtype, name);
      assert.deepEqual(b.shape, t.shape, name);
      assert.deepEqual(b.data, t.data, name);
    }
    // The data section starts 8-byte aligned and no temporary file is left behind.
    const buf = readFileSync(p);
    assert.equal(Number(buf.readBigUInt64LE(0)) % 8, 0);
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.includes(".tmp")),
      [],
    );
  });

  test("reads one tensor at a time through the reader", () => {
    const p = join(dir, "one.safetensors");
    writeSafetensors(p, sampleTensors());
    const r = SafetensorsReader.open(p);
    try {
      assert.equal(r.entries.length, 9);
      assert.deepEqual(r.read("ids.i32").data, Int32Array.from([0, -1, 2147483647, -2147483648, 7]));
      assert.throws(() => r.read("nope"), /nope: no tensor/);
    } finally {
      r.close();
    }
  });

  test("lazy tensors are produced while writing, and their size is checked", () => {
    const p = join(dir, "lazy.safetensors");
    let loaded = 0;
    writeSafetensors(p, [
      [
        "a",
        {
          dtype: "F32",
          shape: [2],
          load: () => {
            loaded++;
            return Float32Array.from([1, 2]);
          },
        },
      ],
    ]);
    assert.equal(loaded, 1);
    assert.deepEqual(readSafetensors(p).tensors.get("a")!.data, Float32Array.from([1, 2]));
    const bad = join(dir, "lazy-bad.safetensors");
    assert.throws(() => writeSafetensors(bad, [["a", { dtype: "F32", shape: [3], load: () => new Float32Array(2) }]]), /needs 12 bytes/);
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.startsWith(".lazy-bad")),
      [],
    );
  });

  describe("rejects corrupt files with a clear error", () => {
    const t = { dtype: "F32", shape: [2], data_offsets: [0, 8] };
    const cases: Array<[string, () => string, RegExp]> = [
      [
        "empty file",
        () => {
          const p = join(dir, "empty.st");
          writeFileSync(p, "");
          return p;
        },
        /header length: expected at least 8 bytes/,
      ],
      [
        "garbage",
        () => {
          const p = join(dir, "garbage.st");
          writeFileSync(p, Buffer.from("this is not a safetensors file at all"));
          return p;
        },
        /header length: .* does not fit/,
      ],
      ["header length past the end", () => rawFile("long.st", { a: t }, new Uint8Array(8), 1000), /header length: 1000 bytes does not fit/],
      [
        "invalid JSON",
        () => {
          const p = join(dir, "json.st");
          const b = Buffer.alloc(12);
          b.writeBigUInt64LE(4n);
          b.write("{abc", 8);
          writeFileSync(p, b);
          return p;
        },
        /header: expected a JSON object/,
      ],
      ["JSON array", () => rawFile("array.st", [1, 2], new Uint8Array(0)), /header: expected a JSON object/],
      ["unknown dtype", () => rawFile("dtype.st", { a: { ...t, dtype: "F64" } }, new Uint8Array(8)), /a\.dtype: unsupported dtype "F64"/],
      [
        "bad shape",
        () => rawFile("shape.st", { a: { ...t, shape: [2, -1] } }, new Uint8Array(8)),
        /a\.shape: expected an array of non-negative integers/,
      ],
      [
        "size mismatch",
        () => rawFile("size.st", { a: { ...t, shape: [3] } }, new Uint8Array(8)),
        /a\.data_offsets: shape \[3\] F32 needs 12 bytes, the range holds 8/,
      ],
      [
        "offsets past the end (truncated)",
        () => rawFile("trunc.st", { a: t }, new Uint8Array(4)),
        /a\.data_offsets: end 8 is past the end of the data section \(4 bytes/,
      ],
      ["begin after end", () => rawFile("order.st", { a: { ...t, data_offsets: [8, 0] } }, new Uint8Array(8)), /begin 8 is after end 0/],
      [
        "overlap",
        () => rawFile("overlap.st", { a: t, b: { ...t, data_offsets: [4, 12] } }, new Uint8Array(12)),
        /b\.data_offsets: .*overlaps/,
      ],
      [
        "gap",
        () => rawFile("gap.st", { a: { ...t, data_offsets: [4, 12] } }, new Uint8Array(12)),
        /a\.data_offsets: range starts at 4, expected 0/,
      ],
      [
        "trailing bytes",
        () => rawFile("tail.st", { a: t }, new Uint8Array(10)),
        /data: tensors cover 8 bytes, but the data section has 10/,
      ],
      [
        "metadata not strings",
        () => rawFile("meta.st", { __metadata__: { n: 1 }, a: t }, new Uint8Array(8)),
        /__metadata__\.n: expected a string/,
      ],
    ];
    for (const [what, make, re] of cases) {
      test(what, () => {
        const p = make();
        assert.throws(
          () => readSafetensors(p),
          (err: Error) => {
            assert.match(err.message, re);
            assert.ok(err.message.startsWith(p), `error names the file: ${err.message}`);
            return true;
          },
        );
      });
    }
  });

  describe("interoperates with numpy", { skip: skipUnlessNumpy() }, () => {
    test("a file written by tsgpt reads in python", () => {
      const p = join(dir, "for-python.safetensors");
      const tensors = sampleTensors();
      writeSafetensors(p, tensors, { format: "pt" });
      const out = runPython(
        `
import sys, json, struct, numpy as np
data = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", data[:8])[0]
header = json.loads(data[8:8 + n])
types = {"F32": np.float32, "F16": np.float16, "BF16": np.uint16, "I32": np.int32, "I64": np.int64, "U8": np.uint8, "BOOL": np.bool_}
res = {"__metadata__": header.pop("__metadata__")}
for name, t in header.items():
    b, e = t["data_offsets"]
    a = np.frombuffer(data[8 + n + b: 8 + n + e], dtype=types[t["dtype"]]).reshape(t["shape"])
    if t["dtype"] == "BF16":
        a = (a.astype(np.uint32) << 16).view(np.float32)
    res[name] = {"shape": list(a.shape), "values": [str(v) if t["dtype"] == "I64" else float(v) for v in a.ravel().tolist()]}
print(json.dumps(res))
`,
        undefined,
        [p],
      );
      const res = JSON.parse(out.toString()) as Record<string, { shape: number[]; values: Array<number | string> }> & {
        __metadata__: unknown;
      };
      assert.deepEqual(res.__metadata__, { format: "pt" });
      for (const [name, t] of tensors) {
        const r = res[name]!;
        assert.deepEqual(r.shape, t.shape, name);
        let expected: Array<number | string>;
        if (t.dtype === "F16") expected = [...f16ToF32(t.data as Uint16Array)];
        else if (t.dtype === "BF16") expected = [...bf16ToF32(t.data as Uint16Array)];
        else if (t.dtype === "I64") expected = [...(t.data as BigInt64Array)].map(String);
        else expected = [...(t.data as Float32Array)];
        assert.deepEqual(r.values, expected, name);
      }
    });

    test("a file written by python (struct + json) reads in tsgpt", () => {
      const p = join(dir, "from-python.safetensors");
      const out = runPython(
        `
import sys, json, struct, numpy as np
rng = np.random.default_rng(0)
arrays = {
    "z.weight": rng.standard_normal((3, 5)).astype(np.float32),
    "a.half": rng.standard_normal((7,)).astype(np.float16),
    "m.ids": np.array([[1, -2], [3, 2**40]], dtype=np.int64),
    "m.i32": np.array([5, -6], dtype=np.int32),
    "m.mask": np.array([True, False, True]),
}
header, offset, blobs = {"__metadata__": {"source": "numpy"}}, 0, []
types = {np.dtype(np.float32): "F32", np.dtype(np.float16): "F16", np.dtype(np.int64): "I64", np.dtype(np.int32): "I32", np.dtype(np.bool_): "BOOL"}
for name, a in arrays.items():
    b = a.tobytes()
    header[name] = {"dtype": types[a.dtype], "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
    offset += len(b)
    blobs.append(b)
h = json.dumps(header).encode()
open(sys.argv[1], "wb").write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
print(json.dumps({k: [str(v) if a.dtype == np.int64 else float(v) for v in a.ravel().tolist()] for k, a in arrays.items()}))
`,
        undefined,
        [p],
      );
      const expected = JSON.parse(out.toString()) as Record<string, Array<number | string>>;
      const { tensors, metadata } = readSafetensors(p);
      assert.deepEqual(metadata, { source: "numpy" });
      assert.deepEqual(tensors.get("z.weight")!.shape, [3, 5]);
      assert.deepEqual([...(tensors.get("z.weight")!.data as Float32Array)], expected["z.weight"]);
      assert.equal(tensors.get("a.half")!.dtype, "F16");
      assert.deepEqual([...f16ToF32(tensors.get("a.half")!.data as Uint16Array)], expected["a.half"]);
      assert.deepEqual([...(tensors.get("m.ids")!.data as BigInt64Array)].map(String), expected["m.ids"]);
      assert.deepEqual([...(tensors.get("m.i32")!.data as Int32Array)], expected["m.i32"]);
      assert.deepEqual([...(tensors.get("m.mask")!.data as Uint8Array)], expected["m.mask"]);
    });
  });
});
