#!/usr/bin/env node
// Keeps the line DESIGN.md section 3 draws: the pure packages get time, timers and randomness
// injected. Only adapters may touch Date.now, setTimeout, setInterval or Math.random.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const PURE_PACKAGES = ['api-errors', 'protocol', 'ring', 'store', 'core', 'whatif'];
const FORBIDDEN =
  /\b(Date\.now\s*\(|new Date\s*\(\s*\)|setTimeout\s*\(|setInterval\s*\(|setImmediate\s*\(|Math\.random\s*\(|performance\.now\s*\()/;

function* files(dir) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const entry of entries) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) yield* files(path);
    else if (/\.(ts|mts|js|mjs)$/.test(entry)) yield path;
  }
}

const offences = [];
for (const pkg of PURE_PACKAGES) {
  for (const file of files(join('packages', pkg, 'src'))) {
    const lines = readFileSync(file, 'utf8').split('\n');
    lines.forEach((line, i) => {
      if (FORBIDDEN.test(line) && !line.includes('purity-ok'))
        offences.push(`${file}:${i + 1}: ${line.trim()}`);
    });
  }
}
if (offences.length > 0) {
  console.error('Clock, timer or randomness globals in a pure package (inject them instead):');
  for (const o of offences) console.error(`  ${o}`);
  process.exit(1);
}
console.log(`purity check: ${PURE_PACKAGES.join(', ')} use no clock, timer or random globals`);
