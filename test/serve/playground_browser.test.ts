// The playground in a real browser: headless Chromium driven by playwright-core types a prompt,
// generates, moves the top-k slider and sees the chart change; then the tokenizer view.
// Skipped when playwright-core or Chromium is missing. Screenshots go to a temporary folder
// (or $TSGPT_SCREENSHOTS), never into the repository.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { optionalImport, skip, startServer, tokenizer, type Running } from "./fixture.js";

const CHROMIUM = process.env.TSGPT_CHROMIUM ?? "/usr/bin/chromium";
const pw = await optionalImport("playwright-core");
const chromium = pw?.chromium ?? pw?.default?.chromium;
const skipBrowser =
  skip ||
  (chromium ? false : "playwright-core is not installed (npm i -D playwright-core)") ||
  (existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM} (apt-get install chromium, or set TSGPT_CHROMIUM)`);

describe("serve: the playground in Chromium", { skip: skipBrowser }, () => {
  let s: Running;
  let context: any;
  let page: any;
  let profile: string;
  const shots = process.env.TSGPT_SCREENSHOTS ?? mkdtempSync(join(tmpdir(), "tsgpt-playground-"));

  before(async () => {
    s = await startServer();
    profile = mkdtempSync(join(tmpdir(), "tsgpt-chromium-profile-"));
    mkdirSync(shots, { recursive: true });
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
      viewport: { width: 1280, height: 1000 },
    });
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
  });
  after(async () => {
    await context?.close();
    await s?.handle.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  test("type a prompt, generate: the text is what the library generates, every token has its chart", async (t) => {
    await page.goto(`${s.url}/`);
    await page.fill("#prompt", "One day, Tom");
    await page.fill("#seed", "5");
    await page.fill("#max_tokens", "40");
    await page.uncheck("#auto"); // no automatic re-run while we set things up
    await page.click("#generate");
    await page.waitForSelector('body[data-runs="1"]');

    const expected = await s.gen.generate("One day, Tom", { seed: 5, maxNewTokens: 40, temperature: 1, topK: 0, topP: 1, minP: 0 });
    assert.equal(await page.textContent("#output .generated"), expected.text);
    const tokens = await page.$$eval("#tokens .tok:not(.eos)", (els: Element[]) => els.length);
    assert.equal(tokens, expected.tokens.length);
    assert.equal(await page.$$eval("#chart g.cand", (els: Element[]) => els.length), 12, "12 candidates drawn");
    assert.equal(await page.$$eval("#chart g.cand.cut", (els: Element[]) => els.length), 0, "no cut is active by default");
    await page.screenshot({ path: join(shots, "1-generated.png"), fullPage: true });
    t.diagnostic(`screenshots in ${shots}`);
  });

  test("moving the top-k slider re-runs the generation and greys out what top-k cut", async () => {
    await page.check("#auto");
    await page.fill("#top_k", "3"); // fires input + change, as a drag does
    await page.waitForSelector('body[data-runs="2"]');
    assert.equal(await page.textContent("#top_k-value"), "3");
    const cut = await page.$$eval("#chart g.cand.cut-topK", (els: Element[]) => els.length);
    assert.ok(cut >= 12 - 3 - 1 && cut <= 12 - 3, `${cut} of 12 candidates cut by top-k = 3`);
    const chosen = await page.$$eval("#chart g.cand.chosen", (els: Element[]) => els.map((e) => e.getAttribute("data-cut")));
    assert.deepEqual(chosen, [""], "the drawn token is one of the kept ones");
    assert.match(await page.textContent("#chart-summary"), /top-k removed \d+/);
    const expected = await s.gen.generate("One day, Tom", { seed: 5, maxNewTokens: 40, temperature: 1, topK: 3, topP: 1, minP: 0 });
    assert.equal(await page.textContent("#output .generated"), expected.text);
    await page.screenshot({ path: join(shots, "2-top-k-3.png"), fullPage: true });
  });

  test("clicking a token shows its step", async () => {
    await page.click('#tokens .tok[data-index="2"]');
    assert.equal(await page.getAttribute("#chart", "data-step"), "2");
    assert.match(await page.textContent("#chart-title"), /^Step 3:/);
  });

  test("the tokenizer view shows pieces and a padded batch with its attention mask", async () => {
    const sp = tokenizer(s.gen);
    await page.click('.tab[data-tab="tokenizer"]');
    await page.fill("#tok-text", "Hello world");
    const want = [sp.idToPiece(sp.bosId), ...sp.encodeAsPieces("Hello world")];
    await page.waitForFunction((n: number) => document.querySelectorAll("#tok-pieces .piece").length === n, want.length);
    assert.deepEqual(await page.$$eval("#tok-pieces .piece b", (els: Element[]) => els.map((e) => e.textContent)), want);

    const lines = ["Once upon a time", "The cat", "Hi"];
    await page.fill("#tok-batch", lines.join("\n"));
    await page.click("#tok-run");
    const lengths = lines.map((l) => 1 + sp.encodeAsIds(l).length);
    const longest = Math.max(...lengths);
    const pads = lengths.reduce((n, l) => n + longest - l, 0);
    await page.waitForFunction((n: number) => document.querySelectorAll("#tok-mask .cell.pad").length === n, pads);
    assert.equal(await page.$$eval("#tok-grid .grid-row", (els: Element[]) => els.length), 3);
    assert.equal(await page.$$eval("#tok-grid .cell.pad", (els: Element[]) => els.length), pads);
    await page.screenshot({ path: join(shots, "3-tokenizer.png"), fullPage: true });
  });
});
