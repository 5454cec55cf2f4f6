// A small schema-driven protobuf (proto2) codec: just what SentencePiece's `.model` files need.
//
// A message schema lists its fields (number, name, kind). Decoding gives a plain object whose
// keys are the field names; a field absent from the bytes stays `undefined` (proto2 keeps
// "present" apart from "default", and so must we to give back the same bytes). Fields the
// schema does not know are kept, raw, in `unknownFields` and written back after the known
// ones, which is where the C++ library puts them too. Known fields are written in field-number
// order, as the C++ library does.

/** Scalar and nested kinds used by SentencePiece's protos. */
export type FieldKind = "string" | "bytes" | "bool" | "int32" | "uint64" | "float" | "enum" | "message";

export interface FieldSpec {
  num: number;
  /** Property name in the decoded object (camelCase). */
  name: string;
  /** Name in the .proto file (snake_case), used in error messages. */
  protoName: string;
  kind: FieldKind;
  repeated?: boolean;
  /** proto2 default, returned by the `*WithDefaults` helpers when the field is absent. */
  default?: unknown;
  /** Nested message schema for kind "message". */
  message?: MessageSchema;
  /** Decoded elsewhere: the general decoder checks its wire type and steps over it. */
  skip?: boolean;
}

export interface MessageSchema {
  name: string;
  fields: FieldSpec[];
  /**
   * Optional shortcut for a message that appears many times (a model's 32k pieces): decodes
   * bytes [start, end) when they are in the common, simple shape, else returns null and the
   * general decoder (with its precise errors) runs.
   */
  fastDecode?: (buf: Uint8Array, start: number, end: number) => Record<string, unknown> | null;
}

/** A field the schema does not know: its field number and its full encoding (tag included). */
export interface UnknownField {
  num: number;
  raw: Uint8Array;
}

/** Raised for malformed bytes; the message names the file and the field path. */
export class ProtoError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ProtoError";
  }
}

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;

function wireTypeOf(kind: FieldKind): number {
  switch (kind) {
    case "float":
      return WIRE_FIXED32;
    case "string":
    case "bytes":
    case "message":
      return WIRE_LEN;
    default:
      return WIRE_VARINT;
  }
}

const utf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

/**
 * Reads one message's bytes; every read is bounds-checked. Errors name the file and the field
 * being read (`path`, `spec`, `index`), spelled out only when an error is thrown.
 */
class Reader {
  pos: number;
  /** High 32 bits of the last varint64(). */
  hi = 0;
  /** End of the last lengthDelimited() value. */
  valueEnd = 0;
  spec: FieldSpec | undefined = undefined;
  index = -1;
  constructor(
    readonly buf: Uint8Array,
    readonly start: number,
    readonly end: number,
    readonly file: string,
    readonly path: string,
  ) {
    this.pos = start;
  }

  fieldPath(): string {
    const s = this.spec;
    return s ? `${this.path}.${s.protoName}${this.index >= 0 ? `[${this.index}]` : ""}` : this.path;
  }

  fail(what: string, at = this.pos): never {
    throw new ProtoError(`${this.file}: ${this.fieldPath()}: ${what} at byte ${at}`);
  }

  /** A varint: returns its low 32 bits (unsigned) and leaves the high 32 bits in `hi`. */
  varint64(): number {
    const buf = this.buf;
    const begin = this.pos;
    if (begin < this.end && buf[begin]! < 0x80) {
      this.pos = begin + 1;
      this.hi = 0;
      return buf[begin]!;
    }
    let lo = 0,
      hi = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail("truncated varint", begin);
      const b = buf[this.pos++]!;
      if (i < 4) lo |= (b & 0x7f) << (7 * i);
      else if (i === 4) {
        lo |= (b & 0x0f) << 28;
        hi |= (b & 0x7f) >>> 4;
      } else hi |= (b & 0x7f) << (7 * i - 32);
      if (b < 0x80) {
        this.hi = hi >>> 0;
        return lo >>> 0;
      }
    }
    this.fail("varint longer than 10 bytes", begin);
  }

  /** A varint that must fit a JavaScript number exactly (tags, lengths, uint64 fields). */
  varintNumber(what: string): number {
    const begin = this.pos;
    const lo = this.varint64();
    if (this.hi >= 0x200000) this.fail(`${what} does not fit in 53 bits`, begin);
    return this.hi * 0x100000000 + lo;
  }

  /** Skips a 32-bit value and returns where it starts. */
  fixed32(): number {
    if (this.pos + 4 > this.end) this.fail("truncated 32-bit value");
    this.pos += 4;
    return this.pos - 4;
  }

  /** Skips a length-delimited value; returns where it starts (its end is in `valueEnd`). */
  lengthDelimited(): number {
    const len = this.varintNumber("length");
    if (len > this.end - this.pos) this.fail(`length ${len} runs past the end of the data (${this.end - this.pos} bytes left)`);
    const s = this.pos;
    this.pos += len;
    this.valueEnd = this.pos;
    return s;
  }

  skip(wire: number): void {
    switch (wire) {
      case WIRE_VARINT:
        this.varint64();
        return;
      case WIRE_FIXED64:
        if (this.pos + 8 > this.end) this.fail("truncated 64-bit value");
        this.pos += 8;
        return;
      case WIRE_LEN:
        this.lengthDelimited();
        return;
      case WIRE_FIXED32:
        this.fixed32();
        return;
      default:
        this.fail(`unsupported wire type ${wire}`);
    }
  }
}

/**
 * Decodes `buf` as a message of `schema`. `where` names the file for error messages.
 * Throws ProtoError naming the file, the field path and the byte offset on malformed input.
 */
export function decodeMessage(schema: MessageSchema, buf: Uint8Array, where: string): Record<string, unknown> {
  // A plain view: slicing a Node Buffer is much slower than slicing a Uint8Array.
  const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  return decodeRange(schema, bytes, 0, bytes.length, where, schema.name);
}

/**
 * Decodes the fields of a `schema` message that lie in the given byte ranges of `buf` (each
 * [ranges[2i], ranges[2i+1]) holds whole fields), as decodeMessage would decode the whole buffer
 * with the fields outside the ranges left out. Error offsets stay those of `buf`.
 */
export function decodeMessageRanges(
  schema: MessageSchema,
  buf: Uint8Array,
  ranges: readonly number[],
  where: string,
): Record<string, unknown> {
  const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: Record<string, unknown> = {};
  for (let i = 0; i < ranges.length; i += 2) decodeRange(schema, bytes, ranges[i]!, ranges[i + 1]!, where, schema.name, out);
  return out;
}

/** Field number → spec, built once per schema (decoding a 32k-piece model visits it 32k times). */
const fieldsByNum = new WeakMap<MessageSchema, Map<number, FieldSpec>>();

function fieldMap(schema: MessageSchema): Map<number, FieldSpec> {
  let m = fieldsByNum.get(schema);
  if (!m) {
    m = new Map(schema.fields.map((f) => [f.num, f]));
    fieldsByNum.set(schema, m);
  }
  return m;
}

function decodeRange(
  schema: MessageSchema,
  buf: Uint8Array,
  start: number,
  end: number,
  file: string,
  path: string,
  out: Record<string, unknown> = {},
): Record<string, unknown> {
  const byNum = fieldMap(schema);
  let unknown = out.unknownFields as UnknownField[] | undefined;
  const r = new Reader(buf, start, end, file, path);
  while (r.pos < end) {
    const tagStart = r.pos;
    r.spec = undefined;
    const tag = r.varintNumber("tag");
    const num = Math.floor(tag / 8);
    const wire = tag % 8;
    if (num === 0) r.fail("field number 0 (corrupted data)", tagStart);
    const spec = byNum.get(num);
    if (!spec) {
      r.skip(wire);
      (unknown ??= []).push({ num, raw: copyBytes(buf, tagStart, r.pos) });
      continue;
    }
    r.spec = spec;
    const list = spec.repeated ? (((out[spec.name] as unknown[] | undefined) ?? (out[spec.name] = [])) as unknown[]) : undefined;
    r.index = list ? list.length : -1;
    if (wire !== wireTypeOf(spec.kind)) {
      r.fail(`wire type ${wire} does not match the field's type (${spec.kind})`, tagStart);
    }
    if (spec.skip) {
      r.skip(wire);
      continue;
    }
    const value = spec.kind === "message" ? decodeNested(spec, r) : decodeValue(spec, r);
    if (list) list.push(value);
    else out[spec.name] = value;
  }
  if (unknown) out.unknownFields = unknown;
  return out;
}

function decodeNested(spec: FieldSpec, r: Reader): Record<string, unknown> {
  const s = r.lengthDelimited();
  const fast = spec.message!.fastDecode?.(r.buf, s, r.valueEnd);
  if (fast) return fast;
  return decodeRange(spec.message!, r.buf, s, r.valueEnd, r.file, r.fieldPath());
}

const floatBytes = new Uint8Array(4);
const floatView = new Float32Array(floatBytes.buffer);

function decodeValue(spec: FieldSpec, r: Reader): unknown {
  switch (spec.kind) {
    case "bool": {
      const lo = r.varint64();
      return lo !== 0 || r.hi !== 0;
    }
    case "int32":
    case "enum":
      return r.varint64() | 0; // int32 is the low 32 bits, sign included
    case "uint64":
      return r.varintNumber("uint64 value");
    case "float": {
      const at = r.fixed32(),
        b = r.buf;
      // Little-endian bytes into a float32 (every platform Node runs on is little-endian).
      floatBytes[0] = b[at]!;
      floatBytes[1] = b[at + 1]!;
      floatBytes[2] = b[at + 2]!;
      floatBytes[3] = b[at + 3]!;
      return floatView[0]!;
    }
    case "bytes": {
      const s = r.lengthDelimited();
      return copyBytes(r.buf, s, r.valueEnd);
    }
    case "string": {
      const s = r.lengthDelimited();
      return decodeUtf8Strict(r, s, r.valueEnd);
    }
    case "message":
      throw new Error("decodeValue: nested messages go through decodeNested");
  }
}

/** bytes[s, e) as a string when they are all ASCII, else null. */
export function asciiString(buf: Uint8Array, s: number, e: number): string | null {
  let text = "";
  for (let i = s; i < e; i++) {
    const b = buf[i]!;
    if (b >= 0x80) return null;
    text += String.fromCharCode(b);
  }
  return text;
}

/** Valid UTF-8 → string; short ASCII strings (most pieces) skip the TextDecoder call. */
function decodeUtf8Strict(r: Reader, s: number, e: number): string {
  const buf = r.buf;
  if (e - s <= 16) {
    let ascii = true;
    for (let i = s; i < e; i++)
      if (buf[i]! >= 0x80) {
        ascii = false;
        break;
      }
    if (ascii) return String.fromCharCode.apply(null, buf.subarray(s, e) as unknown as number[]);
  }
  try {
    return utf8Decoder.decode(buf.subarray(s, e));
  } catch {
    return r.fail("string is not valid UTF-8", s);
  }
}

/** A plain Uint8Array copy (a Node Buffer's slice would be a view of the file's memory). */
function copyBytes(buf: Uint8Array, start: number, end: number): Uint8Array {
  return new Uint8Array(buf.subarray(start, end));
}

/** Growable byte buffer for encoding. */
class Writer {
  private buf = new Uint8Array(1024);
  length = 0;

  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.length++] = b;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }

  /** Unsigned varint of a non-negative safe integer. */
  varint(v: number): void {
    while (v >= 0x80) {
      this.byte((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.byte(v);
  }

  /** int32 varint: negative values are sign-extended to 64 bits (10 bytes), as protobuf does. */
  int32(v: number): void {
    if (v >= 0) {
      this.varint(v);
      return;
    }
    let lo = v >>> 0; // two's complement low 32 bits; high 32 bits are all ones
    for (let i = 0; i < 4; i++) {
      this.byte((lo & 0x7f) | 0x80);
      lo >>>= 7;
    }
    // byte 4 holds the top 4 bits of lo and the low 3 bits of hi (all ones)
    this.byte((lo & 0x0f) | 0x70 | 0x80);
    for (let i = 0; i < 4; i++) this.byte(0xff);
    this.byte(0x01);
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

/** Encodes a message object of `schema` (the shape `decodeMessage` returns). */
export function encodeMessage(schema: MessageSchema, msg: Record<string, unknown>): Uint8Array {
  const w = new Writer();
  writeMessage(w, schema, msg, schema.name);
  return w.finish();
}

function writeMessage(w: Writer, schema: MessageSchema, msg: Record<string, unknown>, path: string): void {
  const fields = [...schema.fields].sort((a, b) => a.num - b.num);
  for (const spec of fields) {
    const value = msg[spec.name];
    if (value === undefined) continue;
    if (spec.repeated) {
      if (!Array.isArray(value)) throw new TypeError(`${path}.${spec.protoName}: expected an array`);
      value.forEach((v, i) => writeField(w, spec, v, `${path}.${spec.protoName}[${i}]`));
    } else {
      writeField(w, spec, value, `${path}.${spec.protoName}`);
    }
  }
  const unknown = msg.unknownFields as UnknownField[] | undefined;
  if (unknown) for (const u of unknown) w.bytes(u.raw);
}

function writeField(w: Writer, spec: FieldSpec, value: unknown, path: string): void {
  w.varint(spec.num * 8 + wireTypeOf(spec.kind));
  const bad = (expected: string): never => {
    throw new TypeError(`${path}: expected ${expected}, got ${typeof value}`);
  };
  switch (spec.kind) {
    case "bool":
      if (typeof value !== "boolean") bad("a boolean");
      w.varint(value ? 1 : 0);
      return;
    case "int32":
    case "enum":
      if (typeof value !== "number" || !Number.isInteger(value) || value < -0x80000000 || value > 0x7fffffff) bad("a 32-bit integer");
      w.int32(value as number);
      return;
    case "uint64":
      if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) bad("a non-negative safe integer");
      w.varint(value as number);
      return;
    case "float": {
      if (typeof value !== "number") bad("a number");
      const b = new Uint8Array(4);
      new DataView(b.buffer).setFloat32(0, value as number, true);
      w.bytes(b);
      return;
    }
    case "bytes":
      if (!(value instanceof Uint8Array)) bad("a Uint8Array");
      w.varint((value as Uint8Array).length);
      w.bytes(value as Uint8Array);
      return;
    case "string": {
      if (typeof value !== "string") bad("a string");
      const b = utf8Encoder.encode(value as string);
      w.varint(b.length);
      w.bytes(b);
      return;
    }
    case "message": {
      if (typeof value !== "object" || value === null) bad("an object");
      const inner = new Writer();
      writeMessage(inner, spec.message!, value as Record<string, unknown>, path);
      const b = inner.finish();
      w.varint(b.length);
      w.bytes(b);
      return;
    }
  }
}

/** A copy of `msg` with every absent scalar field of `schema` set to its proto2 default. */
export function withDefaults<T extends object>(schema: MessageSchema, msg: T | undefined): Required<T> {
  const out: Record<string, unknown> = { ...(msg ?? {}) };
  for (const f of schema.fields) {
    if (out[f.name] !== undefined) continue;
    if (f.repeated) out[f.name] = [];
    else if (f.default !== undefined) out[f.name] = f.default;
    else if (f.kind === "string") out[f.name] = "";
    else if (f.kind === "bytes") out[f.name] = new Uint8Array(0);
    else if (f.kind === "bool") out[f.name] = false;
    else if (f.kind !== "message") out[f.name] = 0;
  }
  return out as Required<T>;
}
