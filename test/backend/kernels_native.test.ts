// The shared kernel suite (kernel_suite.ts) on the native backend, against the js reference.
import { loadNativeBackend, nativeUnavailableReason } from "../../src/backend/native.js";
import { kernelSuite } from "./kernel_suite.js";

const native = loadNativeBackend();
kernelSuite("native", () => native!, { tolScale: 1, skip: native ? false : `native addon not built: ${nativeUnavailableReason()}` });
