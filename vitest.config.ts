import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { configDefaults, defineConfig } from 'vitest/config';

// Tests run from TypeScript sources, no build needed: every workspace package exports its
// `src/index.ts` under the custom condition below (PLATFORM.md, vitest 4 section).
const SOURCE_CONDITION = '@roomring/source';

// Projects whose tests spawn real processes and measure timing run after every other project
// has finished, one after the other (vitest 4 `sequence.groupOrder`), so CPU-heavy property
// and fuzz tests on the same 2 cores cannot starve their heartbeats.
const RUN_ALONE: ReadonlyMap<string, number> = new Map([
  ['node', 1],
  ['cli', 2],
  ['hosts', 3],
  ['browser', 4],
]);

// The dashboard's browser tests (apps/server/test/browser: chromium driving the page of a
// real 3-process cluster) are a project of their own, so they run alone like the others
// above; the `server` project leaves them out.
const BROWSER_TESTS = 'test/browser/**/*.test.ts';

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
    projects: [
      ...projectDirs().map((dir) => ({
        extends: true as const,
        resolve: { conditions: [SOURCE_CONDITION] },
        ssr: { resolve: { conditions: [SOURCE_CONDITION] } },
        test: {
          name: dir.split('/')[1],
          root: dir,
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, BROWSER_TESTS],
          environment: 'node',
          sequence: { groupOrder: RUN_ALONE.get(dir.split('/')[1]!) ?? 0 },
          ...(RUN_ALONE.has(dir.split('/')[1]!) ? { fileParallelism: false } : {}),
          // A project that needs something prepared once (packages/hosts builds the server its
          // tests run) has it in test/global-setup.ts.
          ...(existsSync(join(dir, 'test', 'global-setup.ts'))
            ? { globalSetup: ['test/global-setup.ts'] }
            : {}),
        },
      })),
      {
        extends: true as const,
        resolve: { conditions: [SOURCE_CONDITION] },
        ssr: { resolve: { conditions: [SOURCE_CONDITION] } },
        test: {
          name: 'browser',
          root: 'apps/server',
          include: [BROWSER_TESTS],
          environment: 'node',
          sequence: { groupOrder: RUN_ALONE.get('browser')! },
          fileParallelism: false,
          // Builds the page (ui/build.mjs) the servers under test serve.
          globalSetup: ['test/browser/global-setup.ts'],
        },
      },
    ],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
