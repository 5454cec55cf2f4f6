// How a single token is shown to clients: its SentencePiece piece ("▁Once", "<0x0A>") for
// the playground, and its text with raw bytes for OpenAI-style logprobs.

/** What the server needs from the tokenizer to name tokens (SentencePieceProcessor has it). */
export interface PieceSource {
  idToPiece?(id: number): string;
  decode(ids: readonly number[]): string;
}

const BYTE_PIECE = /^<0x([0-9A-Fa-f]{2})>$/;

/** The piece of a token, or its decoded text when the tokenizer cannot name pieces. */
export function pieceOf(tokenizer: PieceSource, id: number): string {
  try {
    return tokenizer.idToPiece ? tokenizer.idToPiece(id) : tokenizer.decode([id]);
  } catch {
    return `<${id}>`;
  }
}

/**
 * The token as text, as the OpenAI API reports it in logprobs: "▁" becomes a space; a byte
 * piece becomes its character when it is ASCII, and stays "<0xAB>" otherwise (part of a
 * multi-byte character); `bytes` holds its UTF-8 bytes either way.
 */
export function tokenText(tokenizer: PieceSource, id: number): { token: string; bytes: number[] } {
  const piece = pieceOf(tokenizer, id);
  const byte = BYTE_PIECE.exec(piece);
  if (byte) {
    const b = parseInt(byte[1]!, 16);
    return { token: b < 0x80 ? String.fromCharCode(b) : piece, bytes: [b] };
  }
  const token = piece.replaceAll("\u2581", " ");
  return { token, bytes: [...Buffer.from(token, "utf8")] };
}
