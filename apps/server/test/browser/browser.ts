/**
 * Chromium for the dashboard tests: Debian's /usr/bin/chromium driven by playwright-core
 * (PLATFORM.md). Each page records console errors and uncaught exceptions, so a test can
 * assert the page ran clean (a CSP violation is a console error too), and saves its
 * screenshots under apps/server/test-results/dashboard (gitignored).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';
export const SCREENSHOT_DIR = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'test-results',
  'dashboard',
);
/** Wide enough for the overview's four cards in a row. */
export const VIEWPORT = { width: 1360, height: 900 } as const;

export function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `${CHROMIUM_PATH} is missing: the dashboard's browser tests drive Debian's chromium. Install it with: apt-get install -y chromium (as root; .ci/run does this when it is missing)`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    // Containers: no user namespaces for the sandbox, a small /dev/shm, no GPU.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
}

export interface WatchedPage {
  context: BrowserContext;
  page: Page;
  /** Console errors and uncaught exceptions, in order. */
  errors: string[];
}

export async function openPage(browser: Browser): Promise<WatchedPage> {
  const context = await browser.newContext({ viewport: VIEWPORT });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => errors.push(`page error: ${error.message}`));
  return { context, page, errors };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
