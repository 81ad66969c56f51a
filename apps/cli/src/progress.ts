/**
 * A progress indicator on stderr for anything that takes over a second: a spinner on a
 * terminal, one plain line otherwise (so logs and tests see what the CLI waited for). Nothing
 * is shown for work that finishes within PROGRESS_DELAY_MS, which is most calls to a healthy
 * cluster (a local admin read takes a few ms).
 */

/** Work shorter than this shows nothing. */
export const PROGRESS_DELAY_MS = 1_000;
/** Spinner frame period: 10 frames/s looks alive without flooding a slow terminal. */
export const SPINNER_FRAME_MS = 100;
const FRAMES = ['|', '/', '-', '\\'] as const;

export interface ProgressStream {
  isTTY?: boolean;
  write(text: string): unknown;
}

export async function withProgress<T>(
  label: string,
  work: Promise<T>,
  stream: ProgressStream,
): Promise<T> {
  let frame = 0;
  let spinner: ReturnType<typeof setInterval> | undefined;
  let shown = false;
  const start = setTimeout(() => {
    shown = true;
    if (!stream.isTTY) {
      stream.write(`${label}...\n`);
      return;
    }
    const draw = (): void => {
      stream.write(`\r${FRAMES[frame++ % FRAMES.length]} ${label}`);
    };
    draw();
    spinner = setInterval(draw, SPINNER_FRAME_MS);
  }, PROGRESS_DELAY_MS);
  try {
    return await work;
  } finally {
    clearTimeout(start);
    if (spinner) clearInterval(spinner);
    // Erase the spinner line so the answer starts at column 0.
    if (shown && stream.isTTY) stream.write('\r\u001b[K');
  }
}
