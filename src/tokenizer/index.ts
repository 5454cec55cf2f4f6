// Public API of the tokenizer layer: SentencePiece models (read, write, encode, decode),
// Hugging Face tokenizer.json / GPT-2 files, normalization, batch encoding with padding,
// chat templates.
export { SentencePieceProcessor, SentencePieceCore, type EncodeOptions, type EncodedToken } from "./processor.js";
export { encodeBatch, type BatchEncodeOptions, type BatchEncoding, type BatchTokenizer } from "./batch.js";
export { StreamDecoder } from "./stream_decoder.js";
export { ParallelEncoder, type EncodedLines, type ParallelStats } from "./parallel_encode.js";
export { Normalizer, CharsMap, SPACE_SYMBOL, type NormalizedText, type NormalizerOptions } from "./normalizer.js";
export {
  parseModelProto,
  serializeModelProto,
  trainerSpecWithDefaults,
  normalizerSpecWithDefaults,
  pieceTypeOf,
  PieceType,
  ModelType,
  ProtoError,
  type ModelProto,
  type SentencePiece,
  type TrainerSpec,
  type NormalizerSpec,
  type SelfTestData,
  type UnknownField,
} from "./model_proto.js";
export { byteToPiece, pieceToByte } from "./vocab.js";
export { writeFileAtomic } from "../util/atomic_write.js";
export { trainSentencePiece, writeModelFiles, vocabText, type TrainerOptions } from "./trainer.js";
export { NORMALIZATION_RULES, TrainerOptionError, type ModelTypeName, type NormalizationRuleName } from "./trainer_options.js";
export { loadTokenizer, findTokenizerFile, type Tokenizer } from "./tokenizer.js";
export { HFTokenizer, HFTokenizerCore, type HFEncodeOptions, type HFDecodeOptions } from "./hf/hf_tokenizer.js";
export { HFStreamDecoder } from "./hf/stream_decoder.js";
export { loadGpt2Files } from "./hf/gpt2_files.js";
export { TokenizerFileError } from "./hf/config.js";
export { readTokenizerConfig, type TokenizerConfig } from "./hf/tokenizer_config.js";
export { ChatTemplate, type TemplateMessage, type RenderOptions } from "./chat_template.js";
