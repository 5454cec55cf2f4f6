// The in-browser generator page (GET /gpu): in Chromium (playwright-core), the page parses a GGUF
// the user picked and generates on the page's WebGPU adapter (SwiftShader in headless Chromium);
// its greedy text equals the server's /v1/completions for the same prompt, and its ids the CPU
// decoder's. Skipped, with the reason, without Chromium, playwright-core, the shared model, a
// build in dist/ or a WebGPU adapter in the browser.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadCheckpoint } from "../../src/formats/load.js";
import { writeGGUFCheckpoint } from "../../src/formats/gguf_llama.js";
import { TextGenerator } from "../../src/generate/text_generator.js";
import { createServer, type ServeHandle } from "../../src/serve/index.js";
import { repoRoot, sharedPath, skipUnlessShared } from "../helpers/shared.js";

const CHROMIUM = process.env.TSGPT_CHROMIUM ?? "/usr/bin/chromium";
type Playwright = typeof import("playwright-core");
let playwright: Playwright | null = null;
try {
  const name = "playwright-core"; // optional: a dev tool, not a dependency of tsgpt
  playwright = (await import(name)) as Playwright;
} catch {
  playwright = null;
}

const skip =
  skipUnlessShared("models", "stories260K", "stories260K.bin") ||
  (existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM} (set TSGPT_CHROMIUM)`) ||
  (playwright ? false : "playwright-core is not installed") ||
  (existsSync(join(repoRoot, "dist", "src", "generate", "in_browser.js")) ? false : "the page's modules are not built (npm run build)");

describe("the in-browser generator page", { skip }, () => {
  let dir = "";
  let gguf = "";
  let handle: ServeHandle;
  let url = "";

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "tsgpt-page-"));
    gguf = join(dir, "stories260K.gguf");
    const ckpt = await loadCheckpoint(sharedPath("models", "stories260K", "stories260K.bin"));
    ckpt.tokenizerPath = sharedPath("models", "stories260K", "tok512.model"); // its vocabulary goes into the GGUF
    writeGGUFCheckpoint(gguf, ckpt);
    const generator = await TextGenerator.load(gguf);
    handle = createServer({ generator, modelName: "stories260K" });
    url = (await handle.listen(0, "127.0.0.1")).replace("127.0.0.1", "localhost"); // localhost: a secure context, which WebGPU needs
  });

  after(async () => {
    await handle?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("greedy text equals the server's, ids equal the CPU decoder's", async (t) => {
    const browser = await playwright!.chromium.launch({
      executablePath: CHROMIUM,
      args: ["--enable-unsafe-webgpu", "--enable-features=Vulkan", "--ignore-gpu-blocklist"],
    });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      await page.goto(`${url}/gpu`);
      const adapter = await page.evaluate(async () => {
        const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
        return gpu ? (await gpu.requestAdapter()) !== null : false;
      });
      if (!adapter) {
        t.skip("this Chromium has no WebGPU adapter");
        return;
      }
      await page.setInputFiles("#file", gguf);
      await page.waitForSelector("body[data-state=ready], body[data-state=error]", { timeout: 60_000 });
      assert.equal(await page.getAttribute("body", "data-state"), "ready", (await page.textContent("#status")) ?? "");
      const prompt = "Once upon a time";
      await page.fill("#prompt", prompt);
      await page.fill("#temperature", "0");
      await page.fill("#max-tokens", "30");
      await page.click("#generate");
      await page.waitForSelector("body[data-state=done], body[data-state=error]", { timeout: 120_000 });
      assert.equal(await page.getAttribute("body", "data-state"), "done", (await page.textContent("#status")) ?? "");
      const text = (await page.textContent("#text"))!;
      const ids = (await page.textContent("#ids"))!.split(" ").map(Number);

      const res = await fetch(`${url}/v1/completions`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ model: "stories260K", prompt, max_tokens: 30, temperature: 0 }),
      });
      const server = (await res.json()) as { choices: { text: string }[] };
      assert.equal(text, prompt + server.choices[0]!.text, "page vs server");
      const cpu = await (await TextGenerator.load(gguf)).generate(prompt, { temperature: 0, maxNewTokens: 30 });
      assert.deepEqual(ids, cpu.tokens, "page vs CPU decoder");
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  });

  test("a file that is not a GGUF: the page says so", async () => {
    const browser = await playwright!.chromium.launch({ executablePath: CHROMIUM, args: ["--enable-unsafe-webgpu"] });
    try {
      const page = await browser.newPage();
      await page.goto(`${url}/gpu`);
      await page.setInputFiles("#file", { name: "notes.gguf", mimeType: "application/octet-stream", buffer: Buffer.from("not a model") });
      await page.waitForSelector("body[data-state=error]", { timeout: 30_000 });
      assert.match((await page.textContent("#status"))!, /notes\.gguf: not a GGUF file/);
    } finally {
      await browser.close();
    }
  });

  test("the server serves the page's modules, and nothing else under /modules/", async () => {
    const ok = await fetch(`${url}/modules/generate/in_browser.js`);
    assert.equal(ok.status, 200);
    assert.match(ok.headers.get("content-type")!, /javascript/);
    for (const path of ["/modules/cli/main.js", "/modules/../package.json", "/modules/backend/native.js"]) {
      assert.equal((await fetch(`${url}${path}`)).status, 404, path);
    }
  });
});
