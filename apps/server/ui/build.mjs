#!/usr/bin/env node
// Bundles the dashboard (ui/src, Preact + htm + uPlot) into dist/ui: one script and one
// stylesheet with a content hash in their names (served as immutable), a favicon, and the
// index.html that names them. Run by `pnpm build` after tsc; the browser tests run it too.
// Why a bundler: the page must load from this origin only (CSP), as a few files, from
// TypeScript; esbuild does that in ~100 ms with no config beyond this file.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const uiDir = dirname(fileURLToPath(import.meta.url));
const outDir = join(uiDir, '..', 'dist', 'ui');
const assetDir = join(outDir, 'assets');

rmSync(outDir, { recursive: true, force: true });
mkdirSync(assetDir, { recursive: true });

const result = await build({
  entryPoints: { app: join(uiDir, 'src', 'main.ts'), style: join(uiDir, 'src', 'style.css') },
  bundle: true,
  format: 'esm',
  // What the page uses (WebCrypto, ResizeObserver, CSS nesting-free): every current browser.
  target: ['chrome111', 'firefox115', 'safari16'],
  minify: true,
  sourcemap: 'linked',
  entryNames: '[name]-[hash]',
  outdir: assetDir,
  metafile: true,
  legalComments: 'linked',
  logLevel: 'warning',
});

const outputs = Object.keys(result.metafile.outputs).map((p) => relative(assetDir, p));
const script = outputs.find((p) => /^app-[A-Z0-9]+\.js$/.test(p));
const style = outputs.find((p) => /^style-[A-Z0-9]+\.css$/.test(p));
if (!script || !style) throw new Error(`unexpected esbuild outputs: ${outputs.join(', ')}`);

const favicon = readFileSync(join(uiDir, 'favicon.svg'));
const faviconName = `favicon-${createHash('sha256').update(favicon).digest('hex').slice(0, 8)}.svg`;
writeFileSync(join(assetDir, faviconName), favicon);

const index = readFileSync(join(uiDir, 'index.html'), 'utf8')
  .replaceAll('%SCRIPT%', `assets/${script}`)
  .replaceAll('%STYLE%', `assets/${style}`)
  .replaceAll('%FAVICON%', `assets/${faviconName}`);
writeFileSync(join(outDir, 'index.html'), index);
console.log(`dashboard: ${relative(process.cwd(), outDir)} (${script}, ${style})`);
