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
