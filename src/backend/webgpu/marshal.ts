// Moving kernel arguments between the caller's thread and the webgpu worker thread.
//
// Typed arrays are copied into one shared arena (a SharedArrayBuffer both threads see) and
// replaced by ArrayRefs naming their byte range; after the call the caller copies the ranges
// of the output arrays back. An array passed twice (out aliasing x) gets one range, so the
// kernel sees the aliasing the caller meant. Everything else (numbers, strings, shapes,
// option objects such as MatmulArgs) goes through postMessage as it is.
import type { ArrayRef, Wire } from "./sync_protocol.js";

export type Typed = Float32Array | Int32Array | Uint8Array | Uint16Array;

const ALIGN = 16;
const align = (n: number): number => Math.ceil(n / ALIGN) * ALIGN;

function kindOf(a: Typed): ArrayRef["$array"] {
  if (a instanceof Float32Array) return "f32";
  if (a instanceof Int32Array) return "i32";
  if (a instanceof Uint8Array) return "u8";
  return "u16";
}

function isTyped(v: unknown): v is Typed {
  return v instanceof Float32Array || v instanceof Int32Array || v instanceof Uint8Array || v instanceof Uint16Array;
}

function isRef(v: unknown): v is ArrayRef {
  return typeof v === "object" && v !== null && "$array" in v;
}

/** The caller's side: owns the arena and grows it (a new SharedArrayBuffer) when a call needs more. */
export class ArenaWriter {
  private arena = new SharedArrayBuffer(1 << 20);
  private grown = true; // the worker has not seen the first arena yet
  private refs = new Map<Typed, ArrayRef>();

  /**
   * Lays out every typed array of `args` in the arena and copies it there. Returns the wire
   * form of the arguments and the arena when the worker must be sent a new one.
   */
  encode(args: readonly unknown[]): { wire: Wire[]; arena?: SharedArrayBuffer } {
    this.refs = new Map();
    let end = 0;
    const visit = (v: unknown): void => {
      if (isTyped(v)) {
        if (!this.refs.has(v)) {
          this.refs.set(v, { $array: kindOf(v), byteOffset: end, length: v.length });
          end += align(v.byteLength);
        }
      } else if (Array.isArray(v)) v.forEach(visit);
      else if (typeof v === "object" && v !== null) Object.values(v).forEach(visit);
    };
    args.forEach(visit);
    if (end > this.arena.byteLength) {
      this.arena = new SharedArrayBuffer(Math.max(end, this.arena.byteLength * 2));
      this.grown = true;
    }
    const bytes = new Uint8Array(this.arena);
    for (const [arr, ref] of this.refs) bytes.set(new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength), ref.byteOffset);
    const wire = args.map((a) => this.toWire(a));
    if (!this.grown) return { wire };
    this.grown = false;
    return { wire, arena: this.arena };
  }

  /** Copies the arena's ranges of `outputs` (arrays passed to the last encode) back into them. */
  copyBack(outputs: readonly (Typed | null | undefined)[]): void {
    for (const out of outputs) {
      if (!out) continue;
      const ref = this.refs.get(out);
      if (!ref) throw new Error("webgpu: an output array was not among the call's arguments");
      new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(new Uint8Array(this.arena, ref.byteOffset, out.byteLength));
    }
  }

  private toWire(v: unknown): Wire {
    if (isTyped(v)) return this.refs.get(v)!;
    if (Array.isArray(v)) return v.map((x) => this.toWire(x));
    if (typeof v === "object" && v !== null) {
      const o: { [key: string]: Wire } = {};
      for (const [k, x] of Object.entries(v)) o[k] = this.toWire(x);
      return o;
    }
    return v as Wire;
  }
}

/** The worker's side: turns ArrayRefs back into typed arrays viewing the shared arena. */
export function decodeArgs(wire: readonly Wire[], arena: SharedArrayBuffer): unknown[] {
  const view = (r: ArrayRef): Typed => {
    if (r.$array === "f32") return new Float32Array(arena, r.byteOffset, r.length);
    if (r.$array === "i32") return new Int32Array(arena, r.byteOffset, r.length);
    if (r.$array === "u8") return new Uint8Array(arena, r.byteOffset, r.length);
    return new Uint16Array(arena, r.byteOffset, r.length);
  };
  const decode = (v: Wire): unknown => {
    if (isRef(v)) return view(v);
    if (Array.isArray(v)) return v.map(decode);
    if (typeof v === "object" && v !== null) {
      const o: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) o[k] = decode(x);
      return o;
    }
    return v;
  };
  return wire.map(decode);
}
