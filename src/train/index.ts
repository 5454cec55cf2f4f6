// Public API of training: data, optimizer, schedule, the loop, checkpoints, evaluation.
export { DataError, listDataFiles, forEachLine, hashFiles } from "./text_source.js";
export {
  writeTokenCache,
  readTokenCache,
  readTokenCacheHeader,
  bytesPerIdFor,
  TOKEN_CACHE_MAGIC,
  TOKEN_CACHE_VERSION,
  TOKEN_CACHE_HEADER_BYTES,
  type TokenIds,
  type TokenCacheHeader,
  type ReadTokenCacheOptions,
  type WriteTokenCacheOptions,
} from "./token_cache.js";
export {
  loadTokenCorpus,
  splitCorpus,
  tokenizeFiles,
  lineBreakIds,
  tokenizerChecksum,
  type CorpusTokenizer,
  type TokenCorpus,
} from "./corpus.js";
export {
  WindowDataset,
  DocumentDataset,
  fixedWindowBatches,
  padBatch,
  IGNORE_INDEX,
  type Batch,
  type BatchSource,
  type DatasetState,
  type WindowDatasetOptions,
  type DocumentDatasetOptions,
} from "./dataset.js";
export { charModelProto, collectCharacters } from "./char_vocab.js";
export { brownCorpusDir, prepareBrownCorpus, untagBrownLine } from "./brown.js";
export { AdamW, type AdamWOptions } from "./adamw.js";
export { learningRate, checkSchedule, type ScheduleOptions } from "./schedule.js";
export { clipGradNorm, gradNorm } from "./grad_clip.js";
export { StepProfiler, formatStepProfile, STEP_PHASES, type StepPhase, type StepProfile, type StepProfilerOptions } from "./profile.js";
export { ProgressBar, formatProgress, formatDuration, formatRate, type ProgressStats, type ProgressOptions } from "./progress.js";
export { lossCurveSvg, niceTicks, type CurvePoint, type LossCurveOptions } from "./loss_curve.js";
export { TrainLog, type LogRecord, type TrainRecord, type EvalRecord } from "./train_log.js";
export {
  saveTrainingCheckpoint,
  loadTrainingCheckpoint,
  loadAdapterCheckpoint,
  verifyCheckpoint,
  latestCheckpoint,
  listCheckpoints,
  isTrainingCheckpoint,
  sha256File,
  TRAINER_STATE_FILE,
  OPTIMIZER_FILE,
  type TrainerState,
  type SaveOptions,
  type CheckpointWeights,
  type LoadedTrainingState,
  type LoadedTrainingCheckpoint,
  type LoadedAdapterCheckpoint,
} from "./checkpoint.js";
export {
  train,
  evaluateLoss,
  batchLoss,
  checkSettings,
  writeLossCurve,
  DEFAULT_SETTINGS,
  TrainingError,
  type TrainableModel,
  type TrainSettings,
  type TrainOptions,
  type TrainResult,
  type StepRecord,
} from "./trainer.js";
export { evaluatePerplexity, type PerplexityOptions, type PerplexityResult } from "./evaluate.js";
export {
  readInstructJsonl,
  parseExample,
  encodeInstructExample,
  encodeInstructExamples,
  instructBatch,
  instructBatches,
  replyText,
  InstructDataset,
  type InstructExample,
  type InstructTokenizer,
  type EncodedExample,
  type EncodedSet,
  type EncodeAllOptions,
  type InstructDatasetOptions,
} from "./instruct.js";
export { finetune, type FinetuneArgs, type FinetuneOptions, type FinetuneResult } from "./finetune.js";
