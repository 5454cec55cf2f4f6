// The error every reader throws on a file it cannot trust: it names the file, the field and
// what was expected, so a user can tell a truncated download from a wrong format.

export class FormatError extends Error {
  constructor(
    readonly file: string,
    readonly field: string,
    message: string,
  ) {
    super(`${file}: ${field}: ${message}`);
    this.name = "FormatError";
  }
}

/**
 * A bad value of one named option of a library call. `option` is the name the call knows it by,
 * so a caller that spells its options differently (the CLI's flags) can name its own.
 */
export class OptionError extends RangeError {
  constructor(
    readonly option: string,
    readonly detail: string,
  ) {
    super(`${option}: ${detail}`);
    this.name = "OptionError";
  }
}

/**
 * A run directory that does not fit the request: a new run aimed at a directory that already
 * holds one ("occupied"), or a resume from a directory that holds none ("not-a-run").
 */
export class RunDirectoryError extends Error {
  constructor(
    readonly dir: string,
    readonly reason: "occupied" | "not-a-run",
    message: string,
  ) {
    super(message);
    this.name = "RunDirectoryError";
  }
}
