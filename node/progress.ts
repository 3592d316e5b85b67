/**
 * A terminal progress bar for long work (model download and load): redraws one line on
 * a TTY, prints a line every 10 % otherwise (CI logs, systemd journal).
 */
import type { EngineProgress } from './engine/index.js';

function bytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  return `${Math.round(n / 1e3)} kB`;
}

export function progressBar(out: NodeJS.WriteStream = process.stderr): (p: EngineProgress) => void {
  const tty = out.isTTY === true;
  let lastPhase = '';
  let lastDecile = -1;
  return (p) => {
    const fraction = Math.min(1, Math.max(0, p.fraction));
    const label = p.phase === 'download' ? 'Downloading model' : 'Loading model';
    const detail =
      p.phase === 'download' && p.totalBytes != null
        ? ` ${bytes(p.downloadedBytes ?? 0)} / ${bytes(p.totalBytes)}`
        : '';
    const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
    if (tty) {
      const width = 30;
      const filled = Math.round(fraction * width);
      out.write(
        `\r  ${label.padEnd(18)} [${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${percent}${detail}\x1b[K`,
      );
      if (fraction >= 1) out.write('\n');
      return;
    }
    const decile = Math.floor(fraction * 10);
    if (p.phase !== lastPhase || decile !== lastDecile) {
      lastPhase = p.phase;
      lastDecile = decile;
      out.write(`  ${label}: ${percent}${detail}\n`);
    }
  };
}
