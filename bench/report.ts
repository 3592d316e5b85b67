// Global setup/teardown of `npm run bench`: clears old parts first, and at the end prints
// one table of every figure and writes bench/results/latest.json.
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import type { Figure } from './figures.js';

const PARTS = 'bench/results/parts';

export async function setup(): Promise<void> {
  await rm(PARTS, { recursive: true, force: true });
  await mkdir(PARTS, { recursive: true });
}

function formatTarget(f: Figure): string {
  return f.target == null ? '' : `${f.target.op === '<=' ? '≤' : '≥'} ${f.target.value} ${f.unit}`;
}

export async function teardown(): Promise<void> {
  const figures: Figure[] = [];
  for (const file of (await readdir(PARTS)).sort()) {
    figures.push(...(JSON.parse(await readFile(`${PARTS}/${file}`, 'utf8')) as Figure[]));
  }
  const rows = figures.map((f) => [
    f.name,
    f.runtime,
    `${f.value} ${f.unit}`,
    formatTarget(f),
    f.pass == null ? 'info' : f.pass ? 'PASS' : 'FAIL',
  ]);
  const header = ['figure', 'runtime', 'value', 'target', 'result'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  console.log(`\n${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  for (const r of rows) console.log(line(r));
  const failed = figures.filter((f) => f.pass === false).length;
  console.log(
    `\n${figures.length} figures, ${failed} below target. Written to bench/results/latest.json\n`,
  );
  await writeFile(
    'bench/results/latest.json',
    `${JSON.stringify({ date: new Date().toISOString(), figures }, null, 2)}\n`,
  );
}
