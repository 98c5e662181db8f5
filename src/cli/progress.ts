/**
 * A progress bar on stderr for scans that last more than a moment: nothing is drawn before
 * `delayMs`, redraws are throttled, and the line is erased when the scan ends.
 */
export interface Progress {
  update: (done: number, total: number) => void;
  finish: () => void;
}

export function progressBar(write: (text: string) => void, options: { delayMs?: number; now?: () => number } = {}): Progress {
  const now = options.now ?? (() => performance.now());
  const started = now();
  const delay = options.delayMs ?? 400;
  let lastDraw = -Infinity;
  let drawn = false;
  return {
    update(done, total) {
      const t = now();
      if (t - started < delay || (t - lastDraw < 80 && done < total) || total === 0) return;
      lastDraw = t;
      drawn = true;
      const width = 30;
      const filled = Math.round((done / total) * width);
      write(`\r\u001b[2K[${"#".repeat(filled)}${".".repeat(width - filled)}] ${done}/${total} files`);
    },
    finish() {
      if (drawn) write("\r\u001b[2K");
    },
  };
}
