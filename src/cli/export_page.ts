// `tsgpt export-page`: writes the in-browser generator page (what `tsgpt serve` serves at /gpu)
// and the compiled modules it imports into a folder, to host on any static web server.
//
//   tsgpt export-page --out site
//   cd site && python3 -m http.server 8000     # then open http://localhost:8000/
import { resolve } from "node:path";
import { parseOptions, UsageError, type OptionSpecs, runCommand } from "./args.js";
import { refuseExisting } from "./outputs.js";
import { exportPage } from "../serve/export_page.js";

const SPECS: OptionSpecs = {
  out: { type: "string", arg: "DIR", help: "folder to write the page into (index.html, gpu.js, style.css, modules/)" },
  output: { type: "string", aliasOf: "out", help: "" },
  force: { type: "boolean", help: "write into a folder that already has files (the page's files are replaced, others kept)" },
};

const SUMMARY =
  "Write the in-browser generator page (GET /gpu of `tsgpt serve`: pick a GGUF or a Hugging Face folder, generate on the page's GPU) as plain files for a static web server.";

export function run(argv: string[]): Promise<number> {
  return runCommand("export-page", async () => {
    const parsed = parseOptions("export-page", SUMMARY, argv, SPECS);
    if (!parsed) return 0;
    const v = parsed.values;
    if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument '${parsed.positionals[0]}'`);
    if (typeof v.out !== "string" || v.out === "") throw new UsageError("--out is required");
    refuseExisting(v.out, "--out", v.force === true);
    const out = resolve(v.out);
    const files = exportPage(out);
    console.error(`wrote the page and ${files.length - 3} modules to ${out}; serve the folder over http(s) and open index.html`);
    return 0;
  });
}
