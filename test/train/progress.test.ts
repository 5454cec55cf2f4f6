import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ProgressBar, formatDuration, lossCurveSvg, niceTicks } from "../../src/train/index.js";

function sink(isTTY: boolean) {
  const chunks: string[] = [];
  return {
    chunks,
    stream: {
      isTTY,
      columns: 120,
      write: (s: string) => {
        chunks.push(s);
        return true;
      },
    },
  };
}

const stats = (step: number) => ({ step, total: 20, loss: 2.5, lr: 1e-3, tokensPerSecond: 12345, etaSeconds: 125 });

describe("progress and loss curve", () => {
  test("a terminal gets one line rewritten in place; a pipe gets plain lines every N steps", () => {
    const tty = sink(true);
    const bar = new ProgressBar({ stream: tty.stream });
    for (let s = 1; s <= 20; s++) bar.update(stats(s));
    bar.done();
    assert.ok(tty.chunks.slice(0, 20).every((c) => c.startsWith("\r\x1b[2K") && !c.includes("\n")));
    assert.match(tty.chunks[19]!, /step 20\/20 .*100% \| loss 2\.5000 \| lr 1\.00e-3 \| 12\.3k tok\/s \| ETA 2m05s/);
    const pipe = sink(false);
    const plain = new ProgressBar({ stream: pipe.stream, every: 10 });
    for (let s = 1; s <= 20; s++) plain.update(stats(s));
    assert.equal(pipe.chunks.length, 2);
    assert.ok(pipe.chunks.every((c) => c.endsWith("\n") && !c.includes("\r")));
    assert.equal(formatDuration(3725), "1h02m");
  });

  test("the SVG has axes with ticks, both lines and a legend, scaled into the picture", () => {
    const train = Array.from({ length: 50 }, (_, i) => ({ step: i + 1, loss: 4 - Math.log1p(i) / 2 }));
    const val = [0, 25, 50].map((s) => ({ step: s, loss: 4.1 - s / 30 }));
    const svg = lossCurveSvg(train, val);
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.equal((svg.match(/<path /g) ?? []).length, 2);
    assert.equal((svg.match(/<circle /g) ?? []).length, 3);
    assert.match(svg, />train</);
    assert.match(svg, />validation</);
    for (const m of svg.matchAll(/[xy][12]?="(-?[\d.]+)"/g)) {
      const v = Number(m[1]);
      assert.ok(v >= 0 && v <= 720, `coordinate ${v} inside the picture`);
    }
    assert.deepEqual(niceTicks(0, 50, 5), [0, 10, 20, 30, 40, 50]);
  });
});
