// Makes the worked example's data: short stories in one distinctive style the pretrained
// stories260K model has never seen, as Alpaca instruction records.
//
// Every story follows the same pattern: a named animal, a "Tick, tock" refrain, a counting
// walk and a moral that starts "And so". TinyStories has none of these, so the base model's
// loss on them is high and a LoRA adapter can lower it. Stories are built from seeded random
// choices; the held-out set uses combinations that the training set does not contain.
//
//   npx tsx bench/lora/style_data.ts OUT_DIR [--train 400] [--heldout 40] [--seed 1]
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Generator } from "../../src/tensor/index.js";

const NAMES = ["Pip", "Tuck", "Bree", "Moss", "Wren", "Fig", "Dot", "Rue", "Bo", "Kit", "Nell", "Jax"];
const ANIMALS = ["fox", "owl", "frog", "bear", "mouse", "duck", "goat", "cat", "hen", "pig"];
const THINGS = ["a blue stone", "a red hat", "a tiny bell", "a round cake", "a green leaf", "a shiny key", "a soft feather", "a big drum"];
const PLACES = ["the hill", "the pond", "the old barn", "the garden", "the river", "the woods"];
const MORALS = [
  "a friend in need is a friend indeed",
  "slow and steady wins the race",
  "sharing makes the heart glad",
  "being brave is better than being big",
  "kind words are like warm bread",
];

export interface StyleRecord {
  instruction: string;
  input: string;
  output: string;
}

function pick<T>(rng: Generator, xs: readonly T[]): T {
  return xs[rng.randint(0, xs.length)]!;
}

function story(name: string, animal: string, thing: string, place: string, moral: string, steps: number): string {
  const count = ["one", "two", "three", "four", "five"].slice(0, steps).join(", ");
  return [
    `Tick, tock, said the clock. ${name} the ${animal} woke up.`,
    `${name} walked to ${place}, counting ${count}.`,
    `At ${place}, ${name} found ${thing}.`,
    `Tick, tock, said the clock. ${name} gave ${thing} to a friend.`,
    `And so ${name} learned that ${moral}.`,
  ].join(" ");
}

/** `n` records; `heldout` selects the combinations with (name index + animal index) % 5 == 0. */
export function makeRecords(n: number, seed: number, heldout: boolean): StyleRecord[] {
  const rng = new Generator(seed);
  const out: StyleRecord[] = [];
  while (out.length < n) {
    const ni = rng.randint(0, NAMES.length);
    const ai = rng.randint(0, ANIMALS.length);
    if (((ni + ai) % 5 === 0) !== heldout) continue;
    const name = NAMES[ni]!;
    const animal = ANIMALS[ai]!;
    const text = story(name, animal, pick(rng, THINGS), pick(rng, PLACES), pick(rng, MORALS), rng.randint(2, 6));
    out.push({ instruction: `Tell a clock story about ${name} the ${animal}.`, input: "", output: text });
  }
  return out;
}

export function writeStyleData(dir: string, nTrain: number, nHeldout: number, seed: number): { train: string; heldout: string } {
  mkdirSync(dir, { recursive: true });
  const train = join(dir, "train.jsonl");
  const heldout = join(dir, "heldout.jsonl");
  writeFileSync(
    train,
    makeRecords(nTrain, seed, false)
      .map((r) => JSON.stringify(r))
      .join("\n") + "\n",
  );
  writeFileSync(
    heldout,
    makeRecords(nHeldout, seed + 1000, true)
      .map((r) => JSON.stringify(r))
      .join("\n") + "\n",
  );
  return { train, heldout };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = process.argv[2];
  if (!dir) {
    console.error("usage: npx tsx bench/lora/style_data.ts OUT_DIR [--train N] [--heldout N] [--seed S]");
    process.exit(2);
  }
  const flag = (name: string, dflt: number) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? Number(process.argv[i + 1]) : dflt;
  };
  const paths = writeStyleData(dir, flag("train", 400), flag("heldout", 40), flag("seed", 1));
  console.log(`wrote ${paths.train} and ${paths.heldout}`);
}
