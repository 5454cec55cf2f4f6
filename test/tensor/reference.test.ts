// Forward values of the fused / math ops against numpy (float64) references.
//
// Inputs: x = float32(arange(12) * 0.37 - 2.1).reshape(3, 4); b = float32(arange(24) * 0.11 - 1).reshape(2, 4, 3).
// Expected values were printed by numpy 1.x (math.erf for GELU), e.g. np.matmul(x[None], b).
import { test } from "node:test";
import assert from "node:assert/strict";
import { type Tensor, arange, gelu, softmax, logsumexp, variance, layerNorm, rmsNorm, matmul } from "../../src/tensor/index.js";

const x = arange(12).float().mul(0.37).sub(2.1).reshape(3, 4);
const b = arange(24).float().mul(0.11).sub(1).reshape(2, 4, 3);

const REF = {
  gelu: [
    -0.03751529028689677, -0.07234018592135945, -0.11820434641310786, -0.1594761881445874, -0.1659299142537272, -0.10032341857926907,
    0.06573100952578309, 0.33708720299948614, 0.6923907266313367, 1.0955013018968427, 1.512321160047342, 1.9218942361393174,
  ],
  gelu_tanh: [
    -0.03733100222490915, -0.07245441233995387, -0.11843800035805123, -0.15962542156315032, -0.16596678191731337, -0.100324649298315,
    0.06573094196262333, 0.33707120421184084, 0.6922871066106411, 1.0952813500522558, 1.5121369889211644, 1.9219662443602583,
  ],
  softmax: [
    0.13196045529366374, 0.19104369703215182, 0.2765805744255382, 0.40041527324864623, 0.13196044191053957, 0.19104370043112437,
    0.2765805772856625, 0.40041528037267354, 0.13196044163861054, 0.1910437000374433, 0.2765805787764027, 0.40041527954754347,
  ],
  lse0: [1.1064354750802026, 1.4764354750205118, 1.8464354784632948, 2.216435484557255],
  var1: [0.22816662844022417, 0.22816667162875337, 0.22816667254765832],
  layerNorm: [
    -1.341601501154542, -0.44720064446717656, 0.44720050038484727, 1.341601645236871, -1.341601585810334, -0.4472005256017298,
    0.44720051659658505, 1.341601594815479, -1.341601587611521, -0.44720052920384035, 0.44720052920384035, 1.341601587611521,
  ],
  rmsNorm: [
    -1.3129742018588384, -1.0816407130533727, -0.850307149715179, -0.6189735863769852, -1.480599385652931, -0.5970158767200633,
    0.2865676144203449, 1.1701511411456722, 0.5833557947888074, 0.8343344497460602, 1.085313104703313, 1.336291759660566,
  ],
  matmul: [
    3.7313999558858577, 3.0515999064236894, 2.371799856048825, 0.7418000094376505, 0.7131999977707862, 0.684599982434511,
    -2.247800061286241, -1.62520002040565, -1.0025999859511847, -4.426199921417236, -5.106000004053115, -5.785800086688994,
    0.39859999298453275, 0.3699999894946808, 0.3413999860048289, 5.223399960136412, 5.846000050544738, 6.468600140953065,
  ],
};

function close(actual: Tensor, expected: number[], tol = 2e-6): void {
  const v = actual.data();
  assert.equal(v.length, expected.length);
  expected.forEach((e, i) => assert.ok(Math.abs(v[i] - e) <= tol * Math.max(1, Math.abs(e)), `element ${i}: ${v[i]} vs ${e}`));
}

test("gelu (erf and tanh forms) match numpy", () => {
  close(gelu(x), REF.gelu);
  close(gelu(x, { approximate: "tanh" }), REF.gelu_tanh);
});

test("softmax, logsumexp, var match numpy", () => {
  close(softmax(x, -1), REF.softmax);
  close(logsumexp(x, 0), REF.lse0);
  close(variance(x, 1), REF.var1, 1e-5);
});

test("layerNorm and rmsNorm match numpy", () => {
  close(layerNorm(x, [4], null, null, 1e-5), REF.layerNorm, 1e-5);
  close(rmsNorm(x, null, 1e-6), REF.rmsNorm, 1e-5);
});

test("batched broadcast matmul matches numpy", () => {
  const out = matmul(x.unsqueeze(0), b);
  assert.deepEqual(out.shape, [2, 3, 3]);
  close(out, REF.matmul, 1e-5);
});
