import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

// Tests run from TypeScript sources, no build needed: every workspace package exports its
// `src/index.ts` under the custom condition below (PLATFORM.md, vitest 4 section).
const SOURCE_CONDITION = '@roomring/source';

function projectDirs(): string[] {
  const dirs: string[] = [];
  for (const group of ['packages', 'apps']) {
    if (!existsSync(group)) continue;
    for (const name of readdirSync(group).sort()) {
      if (existsSync(join(group, name, 'test'))) dirs.push(join(group, name));
    }
  }
  return dirs;
}

export default defineConfig({
  test: {
    projects: projectDirs().map((dir) => ({
      extends: true,
      resolve: { conditions: [SOURCE_CONDITION] },
      ssr: { resolve: { conditions: [SOURCE_CONDITION] } },
      test: {
        name: dir.split('/')[1],
        root: dir,
        include: ['test/**/*.test.ts'],
        environment: 'node',
      },
    })),
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
