// The tsgpt playground: plain browser JavaScript, no framework, no build step.
//
// Generate tab: POST /v1/playground/stream and read its server-sent events. Every token comes
// with its sampling step explained (the top candidates' probabilities before and after
// temperature, and which cut removed them); the chart draws the step of the selected token.
// Tokenizer tab: POST /tokenize for one text (pieces and ids) and for a batch (padding and
// attention mask).

const $ = (id) => document.getElementById(id);
const SLIDERS = ["temperature", "top_k", "top_p", "min_p", "max_tokens"];
const CANDIDATES = 12;
const CUT_NAMES = { topK: "top-k", topP: "top-p", minP: "min-p", greedy: "greedy" };
const SVG = "http://www.w3.org/2000/svg";

// ---------------------------------------------------------------------------------------------
// Small helpers.

function el(tag, attrs = {}, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function svgEl(tag, attrs = {}, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

/** Shows a piece readably: the SentencePiece space marker stays visible, newlines become ⏎. */
function showPiece(piece) {
  return piece.replace(/\n/g, "⏎").replace(/^<0x0A>$/, "⏎");
}

function percent(p) {
  if (p === 0) return "0";
  if (p < 0.001) return p.toExponential(1);
  return (p * 100).toFixed(p < 0.1 ? 2 : 1) + "%";
}

/** POST a JSON body; returns the parsed answer, or throws with the server's error message. */
async function postJson(path, body) {
  const res = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  const json = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(json.error ? json.error.message : `HTTP ${res.status}`);
  return json;
}

/** The `data:` payloads of a server-sent event stream, parsed, until `[DONE]`. */
async function* sseEvents(stream) {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = block
        .split("\n")
        .filter((l) => l.startsWith("data:"))
        .map((l) => l.slice(5).trimStart())
        .join("\n");
      if (data === "[DONE]") return;
      if (data) yield JSON.parse(data);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Tabs and model name.

for (const tab of document.querySelectorAll(".tab")) {
  tab.addEventListener("click", () => {
    for (const t of document.querySelectorAll(".tab")) t.classList.toggle("active", t === tab);
    for (const p of document.querySelectorAll(".panel")) p.classList.toggle("hidden", p.id !== `tab-${tab.dataset.tab}`);
    if (tab.dataset.tab === "tokenizer") {
      tokenizeText();
      tokenizeBatch();
    }
  });
}

fetch("/v1/models")
  .then((r) => r.json())
  .then((m) => {
    const model = m.data && m.data[0];
    if (!model) return;
    $("model-name").textContent = `${model.id} · context ${model.max_model_len}`;
    $("max_tokens").max = String(Math.min(512, model.max_model_len - 1));
  })
  .catch(() => undefined);

// ---------------------------------------------------------------------------------------------
// Generation.

const state = { controller: null, steps: [], selected: null, runs: 0 };

function settings() {
  const v = (id) => Number($(id).value);
  const body = { prompt: $("prompt").value, top_n: CANDIDATES };
  for (const id of SLIDERS) body[id] = v(id);
  const seed = $("seed").value.trim();
  if (seed !== "") body.seed = Math.trunc(Number(seed));
  return body;
}

function setStatus(text, kind) {
  $("status").textContent = text;
  $("status").dataset.state = kind;
}

async function generate() {
  if (state.controller) state.controller.abort();
  const controller = new AbortController();
  state.controller = controller;
  state.steps = [];
  state.selected = null;
  $("output").replaceChildren();
  $("tokens").replaceChildren();
  drawStep(null);
  $("stop").disabled = false;
  setStatus("generating…", "running");
  const generated = el("span", { class: "generated" });
  try {
    const res = await fetch("/v1/playground/stream", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(settings()),
      signal: controller.signal,
    });
    if (!res.ok) {
      const json = await res.json().catch(() => ({}));
      throw new Error(json.error ? json.error.message : `HTTP ${res.status}`);
    }
    for await (const event of sseEvents(res.body)) {
      if (event.type === "start") {
        $("output").append(el("span", { class: "prompt" }, $("prompt").value), generated);
      } else if (event.type === "text") {
        generated.append(event.text);
      } else if (event.type === "token") {
        addToken(event);
      } else if (event.type === "done") {
        state.runs++;
        document.body.dataset.runs = String(state.runs);
        setStatus(
          `done · ${event.completion_tokens} tokens · ${event.eos ? "ended by </s>" : `finish: ${event.finish_reason}`} · seed ${event.seed}`,
          "done",
        );
      } else if (event.error) {
        throw new Error(event.error.message);
      }
    }
  } catch (err) {
    if (err.name === "AbortError") setStatus("stopped", "stopped");
    else setStatus(`error: ${err.message}`, "error");
  } finally {
    if (state.controller === controller) {
      state.controller = null;
      $("stop").disabled = true;
    }
  }
}

function addToken(event) {
  state.steps.push(event);
  const span = el(
    "span",
    { class: `tok c${event.index % 6}${event.eos ? " eos" : ""}`, title: `id ${event.id}`, "data-index": String(event.index) },
    showPiece(event.piece),
  );
  span.addEventListener("click", () => {
    state.selected = event.index;
    for (const s of $("tokens").children) s.classList.toggle("selected", s === span);
    drawStep(event);
  });
  $("tokens").append(span);
  if (state.selected === null) drawStep(event); // follow the newest token until one is clicked
}

// ---------------------------------------------------------------------------------------------
// The chart: one row per candidate, two bars: the model's probability and the probability after
// temperature. A candidate removed by top-k / top-p / min-p is greyed and says which cut it was.

function drawStep(event) {
  const svg = $("chart");
  svg.replaceChildren();
  if (!event) {
    $("chart-title").textContent = "Sampling step";
    $("chart-summary").textContent = "Generate some text, then pick a token.";
    svg.setAttribute("height", "0");
    svg.removeAttribute("data-step");
    return;
  }
  const step = event.step;
  svg.dataset.step = String(event.index);
  $("chart-title").textContent = `Step ${event.index + 1}: “${showPiece(event.piece)}” was drawn`;
  const removed = Object.entries(step.removed)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${CUT_NAMES[k]} removed ${n}`);
  $("chart-summary").textContent = step.greedy
    ? "Greedy (temperature 0): the most likely token is taken."
    : `${step.kept} token(s) left to draw from${removed.length ? "; " + removed.join(", ") : "; no cut removed anything"}.`;

  const width = Math.max(360, svg.clientWidth || 640);
  const label = 110,
    valueText = 150,
    rowH = 26,
    top = 8;
  const barW = width - label - valueText;
  const scale = Math.max(...step.candidates.map((c) => Math.max(c.p, c.p_temp)), 1e-9);
  svg.setAttribute("viewBox", `0 0 ${width} ${top + rowH * step.candidates.length}`);
  svg.setAttribute("height", String(top + rowH * step.candidates.length));

  step.candidates.forEach((c, i) => {
    const y = top + i * rowH;
    const classes = ["cand"];
    if (c.cut) classes.push("cut", `cut-${c.cut}`);
    if (c.id === event.id) classes.push("chosen");
    const g = svgEl("g", { class: classes.join(" "), "data-id": c.id, "data-cut": c.cut || "" });
    g.append(
      svgEl(
        "title",
        {},
        `id ${c.id} · logit ${c.logit.toFixed(3)} · p ${percent(c.p)} → after temperature ${percent(c.p_temp)} → drawn with ${percent(c.p_final)}`,
      ),
    );
    g.append(svgEl("text", { x: label - 8, y: y + 16, "text-anchor": "end", class: "label" }, showPiece(c.piece)));
    g.append(svgEl("rect", { x: label, y: y + 3, width: Math.max(1, (c.p / scale) * barW), height: 6, class: "bar raw" }));
    g.append(svgEl("rect", { x: label, y: y + 10, width: Math.max(1, (c.p_temp / scale) * barW), height: 12, class: "bar temp" }));
    const note = c.cut ? `cut by ${CUT_NAMES[c.cut]}` : `${percent(c.p_temp)} → ${percent(c.p_final)}`;
    g.append(svgEl("text", { x: label + barW + 6, y: y + 16, class: "value" }, note));
    svg.append(g);
  });
}

// ---------------------------------------------------------------------------------------------
// Controls.

for (const id of SLIDERS) {
  const input = $(id);
  const show = () => {
    $(`${id}-value`).textContent = input.value;
  };
  show();
  input.addEventListener("input", show);
}

const rerun = debounce(() => {
  if ($("auto").checked) generate();
}, 250);
for (const id of [...SLIDERS, "seed"]) $(id).addEventListener("change", rerun);

$("generate").addEventListener("click", () => generate());
$("stop").addEventListener("click", () => {
  if (state.controller) state.controller.abort();
});
$("prompt").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) generate();
});

// ---------------------------------------------------------------------------------------------
// Tokenizer view.

async function tokenizeText() {
  const box = $("tok-pieces");
  try {
    const r = await postJson("/tokenize", { prompt: $("tok-text").value });
    box.replaceChildren(
      ...r.pieces.map((piece, i) => {
        const span = el("span", { class: `piece c${i % 6}`, title: `id ${r.tokens[i]}` });
        span.append(el("b", {}, showPiece(piece)), el("small", {}, String(r.tokens[i])));
        return span;
      }),
    );
    box.append(el("p", { class: "muted" }, `${r.count} tokens`));
  } catch (err) {
    box.replaceChildren(el("p", { class: "error" }, err.message));
  }
}

async function tokenizeBatch() {
  const lines = $("tok-batch")
    .value.split("\n")
    .filter((l) => l.length > 0);
  if (lines.length === 0) return;
  try {
    const r = await postJson("/tokenize", { prompts: lines, padding: "longest", padding_side: $("tok-side").value });
    $("tok-grid").replaceChildren(
      ...r.input_ids.map((row, b) =>
        gridRow(
          row.map((id, t) => {
            const pad = r.attention_mask[b][t] === 0;
            const cell = el("span", { class: pad ? "cell pad" : `cell c${t % 6}`, title: pad ? `padding (id ${id})` : `id ${id}` });
            cell.append(el("b", {}, showPiece(r.pieces[b][t])), el("small", {}, String(id)));
            return cell;
          }),
        ),
      ),
    );
    $("tok-mask").replaceChildren(
      ...r.attention_mask.map((row) => gridRow(row.map((m) => el("span", { class: m ? "cell on" : "cell pad" }, String(m))))),
    );
  } catch (err) {
    $("tok-grid").replaceChildren(el("p", { class: "error" }, err.message));
    $("tok-mask").replaceChildren();
  }
}

function gridRow(cells) {
  const row = el("div", { class: "grid-row" });
  row.append(...cells);
  return row;
}

$("tok-text").addEventListener("input", debounce(tokenizeText, 200));
$("tok-batch").addEventListener("input", debounce(tokenizeBatch, 300));
$("tok-side").addEventListener("change", tokenizeBatch);
$("tok-run").addEventListener("click", tokenizeBatch);
