import { SentencePieceProcessor } from "./src/tokenizer/processor.js";
import { encodeChat, getTemplate } from "./src/generate/templates.js";
const sp = SentencePieceProcessor.load("../shared/models/stories260K/tok512.model");
const t = getTemplate("llama2");
console.log(JSON.stringify(t.render([{role:"system",content:"Be nice"},{role:"user",content:"Hello there"}])));
console.log(encodeChat(sp, t, [{role:"system",content:"Be nice"},{role:"user",content:"Hello there"}]));
