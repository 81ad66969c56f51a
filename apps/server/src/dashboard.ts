/**
 * The dashboard (docs/dashboard.md): `/ui` serves a single page built by `ui/build.mjs` into
 * `dist/ui` during the package build. The files are read once when the app is built and
 * answered from memory. No token is needed for the page itself: it holds no data; everything
 * it shows comes from the /v1 API with the token the user gives it, under the same rules as
 * any other caller.
 *
 * Headers: a Content-Security-Policy that allows only this origin (no inline script or
 * style, no other host), `nosniff`, no referrer, no framing. The page (`/ui/`) is
 * `no-cache` with an ETag, so a rebuilt server is picked up at once; its assets carry a
 * content hash in their names and are cached for a year as immutable.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { DEV_KEYS } from './config.js';

export const DASHBOARD_PATH = '/ui';
/** Where the build puts the page: one directory up from this module is the package root,
 *  both as src/dashboard.ts (tests, `pnpm server`) and dist/dashboard.js. */
export const DASHBOARD_DIR_DEFAULT = fileURLToPath(new URL('../dist/ui/', import.meta.url));
/** The bundle is ~100 KB in ~6 files; these bounds only catch a wrong directory. */
export const DASHBOARD_FILES_MAX = 64;
export const DASHBOARD_BYTES_MAX = 16 * 1024 * 1024;

/** Only this origin, and only what the page uses: its script, its stylesheet, its favicon,
 *  fetch and WebSocket to this node ('self' covers ws: on the same host and port). Nothing
 *  inline: uPlot and Preact set styles through the CSSOM, which CSP allows. */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
export const INDEX_CACHE_CONTROL = 'no-cache';
export const ASSET_CACHE_CONTROL = 'public, max-age=31536000, immutable';

const CONTENT_TYPES: ReadonlyMap<string, string> = new Map([
  ['.html', 'text/html; charset=utf-8'],
  ['.js', 'text/javascript; charset=utf-8'],
  ['.css', 'text/css; charset=utf-8'],
  ['.svg', 'image/svg+xml'],
  ['.map', 'application/json'],
  ['.json', 'application/json'],
]);

interface DashboardFile {
  body: Buffer;
  type: string;
  etag: string;
}

export interface DashboardAssets {
  index: DashboardFile;
  /** File name under assets/ -> file. Names come from the URL: a Map, never an object. */
  assets: ReadonlyMap<string, DashboardFile>;
}

function fileOf(path: string): DashboardFile {
  const body = readFileSync(path);
  const hash = createHash('sha256').update(body).digest('base64url').slice(0, 22);
  return {
    body,
    type: CONTENT_TYPES.get(extname(path)) ?? 'application/octet-stream',
    etag: `"${hash}"`,
  };
}

/** The built page in `dir`, or undefined when it is not built. Throws past the bounds. */
export function loadDashboard(dir: string = DASHBOARD_DIR_DEFAULT): DashboardAssets | undefined {
  const indexPath = join(dir, 'index.html');
  if (!existsSync(indexPath)) return undefined;
  const index = fileOf(indexPath);
  const assets = new Map<string, DashboardFile>();
  const assetDir = join(dir, 'assets');
  let bytes = index.body.length;
  const names = existsSync(assetDir) ? readdirSync(assetDir).sort() : [];
  if (names.length > DASHBOARD_FILES_MAX) {
    throw new Error(`${assetDir} holds ${names.length} files, over ${DASHBOARD_FILES_MAX}`);
  }
  for (const name of names) {
    const path = join(assetDir, name);
    if (!statSync(path).isFile()) continue;
    const file = fileOf(path);
    bytes += file.body.length;
    if (bytes > DASHBOARD_BYTES_MAX) {
      throw new Error(`${dir} holds over ${DASHBOARD_BYTES_MAX} bytes`);
    }
    assets.set(name, file);
  }
  return { index, assets };
}

export interface DashboardRoutesInit {
  assets: DashboardAssets | undefined;
  /** `--dev`: the page fills in the development key and secret... */
  dev: boolean;
  /** ...when this node has them (`--dev` without `--keys`). */
  keys: ReadonlyMap<string, string>;
}

function secure(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', DASHBOARD_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('x-frame-options', 'DENY')
    .header('cross-origin-opener-policy', 'same-origin');
}

const NOT_BUILT =
  'the dashboard is not built: run `npx -y pnpm@12.4.2 build` (it bundles the page into apps/server/dist/ui)\n';

export async function dashboardRoutes(
  app: FastifyInstance,
  init: DashboardRoutesInit,
): Promise<void> {
  const { assets } = init;
  // The development credentials are public (config.ts DEV_KEYS); the page fills them in only
  // when this node runs with them. The page knows them: no secret is sent here.
  const devCredentials = init.dev && [...DEV_KEYS].every(([k, v]) => init.keys.get(k) === v);
  const config = Buffer.from(JSON.stringify({ dev: init.dev, devCredentials }));

  // Relative, so the page also works behind a proxy that adds a path prefix.
  app.get(DASHBOARD_PATH, async (_request, reply) =>
    secure(reply).code(308).header('location', 'ui/').send(),
  );
  app.get(`${DASHBOARD_PATH}/`, async (request, reply) => {
    secure(reply);
    if (!assets) {
      return reply.code(404).header('content-type', 'text/plain; charset=utf-8').send(NOT_BUILT);
    }
    reply.header('cache-control', INDEX_CACHE_CONTROL).header('etag', assets.index.etag);
    if (request.headers['if-none-match'] === assets.index.etag) return reply.code(304).send();
    return reply.header('content-type', assets.index.type).send(assets.index.body);
  });
  app.get(`${DASHBOARD_PATH}/config.json`, async (_request, reply) =>
    secure(reply)
      .header('cache-control', 'no-store')
      .header('content-type', 'application/json')
      .send(config),
  );
  app.get(`${DASHBOARD_PATH}/assets/:file`, async (request, reply) => {
    secure(reply);
    const name = (request.params as { file: string }).file;
    const file = assets?.assets.get(name);
    if (!file) {
      return reply
        .code(404)
        .header('content-type', 'text/plain; charset=utf-8')
        .send('not found\n');
    }
    reply.header('cache-control', ASSET_CACHE_CONTROL).header('etag', file.etag);
    if (request.headers['if-none-match'] === file.etag) return reply.code(304).send();
    return reply.header('content-type', file.type).send(file.body);
  });
}
