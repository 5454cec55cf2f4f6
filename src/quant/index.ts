// Public API of quantization: block formats, quantize / dequantize, the quantized matmul and
// the evaluation of the loss it causes.
export {
  type QuantDType,
  type QuantizedTensor,
  QUANT_DTYPES,
  BLOCK,
  rowBytes,
  quantizedBytes,
  isQuantDType,
  isQuantized,
} from "./types.js";
export { quantizeTensor, dequantize, dequantizeRow, canQuantize, type FloatMatrix } from "./quantize.js";
export { quantizeActivations, type QuantizedActivations } from "./activations.js";
export { quantizedMatmulJs } from "./matmul.js";
export { quantizedMatmul, quantKernelInfo, quantSimdLevels, setQuantSimdLevel, hasNativeQuantKernels } from "./kernels.js";
export {
  quantizeCheckpoint,
  dequantizeCheckpoint,
  plannedDType,
  isTied,
  weightBytes,
  type PlannedDType,
  type QuantizeCheckpointOptions,
} from "./checkpoint.js";

export { QuantizedLinear } from "./quantized_linear.js";
