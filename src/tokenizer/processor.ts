// SentencePieceProcessor: load a `.model` file, encode text to pieces / ids, decode back.
// The same names and results as the Python binding of the C++ library (0.1.97), in camelCase.
//
//   const sp = SentencePieceProcessor.load("tokenizer.model");
//   sp.encode("Hello world")                 // → [15043, 3186]
//   sp.encode("Hello", { outType: "pieces" }) // → ["▁Hello"]
//   sp.decode([15043, 3186])                 // → "Hello world"
//
// Encoding and decoding live in SentencePieceCore (processor_core.ts, no Node module: a browser
// can use it); this class adds reading and writing `.model` files.
import { readFileSync } from "node:fs";
import { writeFileAtomic } from "../util/atomic_write.js";
import { SentencePieceCore } from "./processor_core.js";

export { SentencePieceCore, type EncodeOptions, type EncodedToken } from "./processor_core.js";

export class SentencePieceProcessor extends SentencePieceCore {
  /** Loads a `.model` file. Errors name the file and the field that is wrong. */
  static load(path: string): SentencePieceProcessor {
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(path);
    } catch (err) {
      throw new Error(`cannot read SentencePiece model '${path}': ${(err as Error).message}`);
    }
    return SentencePieceProcessor.fromBytes(bytes, path);
  }

  /** Writes the model to `path` atomically (temporary file, fsync, rename). */
  save(path: string): void {
    writeFileAtomic(path, this.serialize());
  }
}
