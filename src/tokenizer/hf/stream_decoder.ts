// Incremental decoding for tokenizer.json tokenizers. Decoders are not token-local (Metaspace
// drops the first token's leading space, byte-level tokens split characters), so each push
// decodes a short window of recent ids twice — with and without the new id — and emits the
// difference once it no longer ends in an incomplete character (U+FFFD). The same method as
// Hugging Face's DecodeStream.

export class HFStreamDecoder {
  private ids: number[] = [];
  /** ids[prefix..read) were decoded to text already emitted; the window starts at prefix. */
  private prefix = 0;
  private read = 0;

  constructor(
    private readonly decode: (ids: number[]) => string,
    private readonly vocabSize: number,
  ) {}

  /** Adds one id; returns the text that is now final (possibly ""). */
  push(id: number): string {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize)
      throw new RangeError(`token id ${id} is out of range (vocabulary size ${this.vocabSize})`);
    this.ids.push(id);
    const before = this.decode(this.ids.slice(this.prefix, this.read));
    const after = this.decode(this.ids.slice(this.prefix));
    if (after.length > before.length && !after.endsWith("\uFFFD")) {
      const text = after.slice(before.length);
      this.prefix = this.read;
      this.read = this.ids.length;
      return text;
    }
    return "";
  }

  /** Ends the stream: whatever is held back comes out (an incomplete character as U+FFFD). */
  flush(): string {
    const before = this.decode(this.ids.slice(this.prefix, this.read));
    const after = this.decode(this.ids.slice(this.prefix));
    this.prefix = this.read = this.ids.length;
    return after.slice(before.length);
  }
}
