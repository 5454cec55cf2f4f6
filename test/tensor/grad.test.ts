// Every differentiable op's gradient against central finite differences, on the js backend.
// (test/backend/native.test.ts runs the same suite on the native backend.)
import { runGradSuite } from "./gradcheck.js";

runGradSuite("js");
