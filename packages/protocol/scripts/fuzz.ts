/**
 * Long fuzz runs of the protocol decoders (the same properties as test/fuzz.test.ts).
 *
 * From the repository root (pnpm runs through npx here, see PLATFORM.md):
 *   npx -y pnpm@12.4.2 fuzz                         # 100,000 cases per property, random seed
 *   npx -y pnpm@12.4.2 fuzz --cases 1000000 --seed 42
 *   npx -y pnpm@12.4.2 fuzz --property mutated-messages --seed 42 --path 12:0:5   # replay
 *
 * Prints the seed first, and on failure the one command that replays it.
 */
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { FUZZ_PROPERTIES } from '../test/fuzz-properties.js';

type PropertyName = keyof typeof FUZZ_PROPERTIES;
const NAMES = Object.keys(FUZZ_PROPERTIES) as PropertyName[];
const CASES_DEFAULT = 100_000;

const { values } = parseArgs({
  options: {
    cases: { type: 'string', default: String(CASES_DEFAULT) },
    seed: { type: 'string' },
    property: { type: 'string' },
    path: { type: 'string' },
  },
});

const cases = Number(values.cases);
if (!Number.isSafeInteger(cases) || cases < 1) {
  console.error(`--cases must be a positive integer, got ${values.cases}`);
  process.exit(2);
}
const seed =
  values.seed === undefined
    ? (Date.now() ^ (Math.random() * 0x7fff_ffff)) | 0
    : Number(values.seed);
if (!Number.isSafeInteger(seed)) {
  console.error(`--seed must be an integer, got ${values.seed}`);
  process.exit(2);
}
const selected = values.property === undefined ? NAMES : [values.property as PropertyName];
for (const name of selected) {
  if (!NAMES.includes(name)) {
    console.error(`unknown --property ${name}; one of ${NAMES.join(', ')}`);
    process.exit(2);
  }
}

console.log(`protocol fuzz: seed ${seed}, ${cases} cases per property`);
let failed = false;
for (const name of selected) {
  const started = performance.now();
  const details = fc.check(FUZZ_PROPERTIES[name](), {
    numRuns: cases,
    seed,
    ...(values.path === undefined ? {} : { path: values.path, endOnFailure: true }),
  });
  const seconds = (performance.now() - started) / 1000;
  if (!details.failed) {
    const rate = Math.round(details.numRuns / seconds);
    console.log(`  ok    ${name}: ${details.numRuns} cases in ${seconds.toFixed(1)} s (${rate}/s)`);
    continue;
  }
  failed = true;
  console.log(`  FAIL  ${name} after ${details.numRuns} cases`);
  console.log(`        ${String(details.errorInstance)}`.slice(0, 4000));
  console.log('  replay with:');
  console.log(
    `    npx -y pnpm@12.4.2 fuzz --property ${name} --seed ${details.seed} --path ${details.counterexamplePath} --cases ${cases}`,
  );
}
process.exit(failed ? 1 : 0);
