// The files of a checkpoint folder, wherever they are: a directory on disk (DirectoryFiles in
// hf.ts, Node) or files a browser page was given (MemoryFiles: the user picked a folder, and the
// page read the files it needs into memory). Readers of multi-file formats (Hugging Face
// directories) read through this interface only, so they run in both places.
import { FormatError } from "../util/errors.js";
import { MemoryBytes, type ByteSource } from "./byte_source.js";

export interface FileSet {
  /** The folder, as messages name it. */
  readonly path: string;
  /** Whether the folder holds a file of this name (directly, not in a subfolder). */
  has(name: string): boolean;
  /** The names of the files directly in the folder. */
  names(): string[];
  /** A file's path as messages name it. */
  pathOf(name: string): string;
  /** A small file's text, UTF-8 (config files). */
  text(name: string): string;
  /** A file's bytes to parse (weights); close the source when done. */
  open(name: string): ByteSource;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * A folder's files in memory. `names` lists every file the folder has; `contents` holds the bytes
 * of those that were read (a page reads only the files a checkpoint needs, not the folder's other
 * files), and reading one that was not read is an error naming it.
 */
export class MemoryFiles implements FileSet {
  private readonly all: Set<string>;

  constructor(
    readonly path: string,
    names: Iterable<string>,
    private readonly contents: ReadonlyMap<string, Uint8Array>,
  ) {
    this.all = new Set([...names, ...contents.keys()]);
  }

  has(name: string): boolean {
    return this.all.has(name);
  }

  names(): string[] {
    return [...this.all].sort();
  }

  pathOf(name: string): string {
    return `${this.path}/${name}`;
  }

  private bytes(name: string): Uint8Array {
    const b = this.contents.get(name);
    if (b === undefined) {
      throw new FormatError(this.pathOf(name), "file", this.all.has(name) ? "was not read" : "not in the folder");
    }
    return b;
  }

  text(name: string): string {
    try {
      return utf8.decode(this.bytes(name));
    } catch (err) {
      if (err instanceof FormatError) throw err;
      throw new FormatError(this.pathOf(name), "file", "expected UTF-8 text");
    }
  }

  open(name: string): ByteSource {
    return new MemoryBytes(this.bytes(name), this.pathOf(name));
  }
}
