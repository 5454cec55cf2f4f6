// Moving kernel arguments between the caller's thread and the webgpu worker thread.
//
// Each typed array becomes an ArrayRef naming its resident entry (mirror_cache.ts): the
// caller makes the entry's mirror hold the array's bytes, and the worker views the mirror.
// An array passed twice (out aliasing x) is one entry, so the kernel sees the aliasing the
// caller meant. Everything else (numbers, strings, shapes, option objects such as
// MatmulArgs) goes through postMessage as it is.
import type { MirrorCache, Typed } from "./mirror_cache.js";
import type { ArrayRef, Wire } from "./sync_protocol.js";

export type { Typed } from "./mirror_cache.js";

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

/** The caller's side: the wire form of `args`, every typed array's mirror made current; and the ids of the entries used. */
export function encodeArgs(cache: MirrorCache, args: readonly unknown[]): { wire: Wire[]; used: Set<number> } {
  const used = new Set<number>();
  const seen = new Map<Typed, number>();
  const toWire = (v: unknown): Wire => {
    if (isTyped(v)) {
      const entry = seen.get(v) ?? cache.prepare(v);
      seen.set(v, entry);
      used.add(entry);
      return { $array: kindOf(v), entry, length: v.length };
    }
    if (Array.isArray(v)) return v.map(toWire);
    if (typeof v === "object" && v !== null) {
      const o: { [key: string]: Wire } = {};
      for (const [k, x] of Object.entries(v)) o[k] = toWire(x);
      return o;
    }
    return v as Wire;
  };
  return { wire: args.map(toWire), used };
}

/** The worker's side: ArrayRefs become typed arrays viewing their entry's mirror (from byte 0). */
export function decodeArgs(wire: readonly Wire[], mirror: (entry: number) => SharedArrayBuffer): unknown[] {
  const view = (r: ArrayRef): Typed => {
    const m = mirror(r.entry);
    if (r.$array === "f32") return new Float32Array(m, 0, r.length);
    if (r.$array === "i32") return new Int32Array(m, 0, r.length);
    if (r.$array === "u8") return new Uint8Array(m, 0, r.length);
    return new Uint16Array(m, 0, r.length);
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
