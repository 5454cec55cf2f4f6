// Public API of the checkpoint formats: safetensors, Hugging Face directories, llama2.c, GGUF.
export type {
  StorageDType,
  StoredTensor,
  LlamaConfig,
  GPT2Config,
  ModelConfig,
  GenerationDefaults,
  EmbeddedVocab,
  Checkpoint,
} from "./types.js";
export { FormatError } from "../util/errors.js";
export { elementCount, storageBytes, toFloat32, convertFloat, QUANT_BLOCKS } from "./dtypes.js";
export {
  SafetensorsReader,
  SafetensorsSourceReader,
  readSafetensors,
  writeSafetensors,
  SAFETENSORS_DTYPES,
  type SafetensorsEntry,
  type LazyTensor,
  type TensorSource,
} from "./safetensors.js";
export {
  readHFCheckpoint,
  saveHFCheckpoint,
  isHFDirectory,
  findTokenizer,
  transpose2d,
  DirectoryFiles,
  type SaveHFOptions,
} from "./hf.js";
export { readHFCheckpointFrom, readHFCheckpointShardByShard, findTokenizerName } from "./hf_read.js";
export { MemoryFiles, type FileSet } from "./file_set.js";
export { readHFConfig, parseHFConfig, hfConfigJson, readGenerationConfig } from "./hf_config.js";
export {
  readLlama2c,
  writeLlama2c,
  readLlama2cHeader,
  isLlama2cCheckpoint,
  llama2cConfig,
  llama2cFileSize,
  type Llama2cHeader,
} from "./llama2c.js";
export { readLlama2cTokenizer, writeLlama2cTokenizer, type Llama2cVocab } from "./llama2c_tokenizer.js";
export { pairsToHalves, halvesToPairs } from "./rotary_permute.js";
export {
  GGUFReader,
  writeGGUF,
  hasGGUFMagic,
  GGUF_VALUE_TYPES,
  GGUF_DEFAULT_ALIGNMENT,
  type GGUFValue,
  type GGUFArray,
  type GGUFScalar,
  type GGUFValueType,
  type GGUFTensorInfo,
  type GGUFWriteInput,
} from "./gguf.js";
export { readGGUFCheckpoint, writeGGUFCheckpoint, hfNameOfGGUF, ggufNameOfHF, type SaveGGUFOptions } from "./gguf_llama.js";
export { readVocab, readSentencePieceVocab, vocabFromLlama2c } from "./vocab.js";
export {
  loadCheckpoint,
  loadCheckpointSync,
  saveCheckpoint,
  saveCheckpointSync,
  detectFormat,
  findLlama2cTokenizer,
  parameterCount,
  type CheckpointFormat,
  type SaveCheckpointOptions,
} from "./load.js";
export {
  readAdapter,
  writeAdapter,
  applyAdapter,
  mergeAdapter,
  unmergeAdapter,
  withAdapter,
  deltaWeight,
  loraConfig,
  parseAdapterConfig,
  adapterConfigJson,
  isAdapterDirectory,
  isTargetModule,
  rankFor,
  scalingFor,
  peftTensorName,
  ADAPTER_CONFIG_FILE,
  ADAPTER_WEIGHTS_FILE,
  PEFT_PREFIX,
  DEFAULT_TARGET_MODULES,
  LORA_TARGETABLE,
  type LoraConfig,
  type LoraAdapter,
  type LoraLayerWeights,
  type F32Tensor,
  type MergeOptions,
} from "./peft.js";
export { modelProtoFromVocab, tokenizerFromVocab, tokenizerForCheckpoint } from "./gguf_tokenizer.js";
