/**
 * Shared by every benchmark: timing helpers and `record()`, which stores a file's
 * figures (as JSON under bench/results/parts/) for the report in bench/report.ts.
 * Works in Node and in Chromium (through Vitest's browser `commands`).
 */
export interface Figure {
  name: string;
  value: number;
  unit: string;
  /** `<=` or `>=` the target value; absent for informational figures. */
  target?: { op: '<=' | '>='; value: number };
  pass?: boolean;
  runtime: string;
  details?: string;
}

export const runtime: string =
  typeof (globalThis as { window?: unknown }).window === 'undefined'
    ? `node ${(globalThis as { process?: { version?: string } }).process?.version ?? ''}`.trim()
    : 'chromium';

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

/**
 * Median time per operation in ms, over `batches` batches of `perBatch` calls each, after
 * `warmup` calls. Batching keeps coarse browser timers honest.
 */
export async function timePerOp(
  op: () => unknown,
  {
    warmup = 50,
    batches = 50,
    perBatch = 10,
  }: { warmup?: number; batches?: number; perBatch?: number } = {},
): Promise<number> {
  for (let i = 0; i < warmup; i++) await op();
  const samples: number[] = [];
  for (let b = 0; b < batches; b++) {
    const t0 = performance.now();
    for (let i = 0; i < perBatch; i++) await op();
    samples.push((performance.now() - t0) / perBatch);
  }
  return median(samples);
}

/** One streamed answer, timed by its client. */
export interface StreamRun {
  /** Tokens after the first ÷ time from the first token to the end of the answer. */
  tokensPerSecond: number;
  /** Tokens ÷ time from the request to the end of the answer. */
  endToEnd: number;
  ttftMs: number;
}

/** A streamed answer of `tokens` tokens: first token after `ttftMs`, done after `totalMs`. */
export function streamRun(tokens: number, ttftMs: number, totalMs: number): StreamRun {
  return {
    tokensPerSecond: (tokens - 1) / ((totalMs - ttftMs) / 1000),
    endToEnd: tokens / (totalMs / 1000),
    ttftMs,
  };
}

/**
 * A path's throughput measured side by side with the in-process engine, `tokens`-token
 * answers: both tokens/s from the first token to the last (`via`, the route, named with
 * the path's figure), their ratio (target ≥ 0.95), and the same ratio end to end (request
 * to last token, time to first token included) for reference.
 */
export function throughputFigures(
  path: { name: string; label: string; via?: string },
  tokens: number,
  local: StreamRun[],
  other: StreamRun[],
): Figure[] {
  const tps = (runs: StreamRun[]): number => median(runs.map((r) => r.tokensPerSecond));
  const of = `first token to last, ${tokens} tokens, median of ${local.length}`;
  return [
    figure('demo tok/s, in-process', tps(local), 'tok/s', undefined, of),
    figure(
      `demo tok/s, ${path.label}`,
      tps(other),
      'tok/s',
      undefined,
      path.via != null ? `${path.via}, ${of}` : of,
    ),
    figure(`${path.name} / in-process tok/s`, tps(other) / tps(local), 'ratio', {
      op: '>=',
      value: 0.95,
    }),
    figure(
      `${path.name} / in-process tok/s, end to end`,
      median(other.map((r) => r.endToEnd)) / median(local.map((r) => r.endToEnd)),
      'ratio',
      undefined,
      'request to last token, time to first token included',
    ),
  ];
}

/** What a node prints (DEBUG=tokenplace:node:service) as an answer ends: counts and times. */
const DONE_LINE =
  /done: \d+ prompt \+ (\d+) completion tokens in \d+ ms \(tokens ([\d.]+)-([\d.]+) ms\)/g;

/**
 * The pace of a node's own generation for the last answer it logged in `output` (its
 * `tokenplace:node:service` debug line): tokens/s from its first token to its last, as
 * its engine made them, before any transport. Undefined without such a line.
 */
export function loggedGenerationRate(output: string): number | undefined {
  const last = [...output.matchAll(DONE_LINE)].at(-1);
  if (last == null) return undefined;
  const span = Number(last[3]) - Number(last[2]);
  return span > 0 ? (Number(last[1]) - 1) / (span / 1000) : undefined;
}

/**
 * Waits (up to `timeoutMs`) for a node's debug line of the answer that just ended to reach
 * this process, in the output printed after `offset`; its pace, or undefined.
 */
async function nodeGenerationRate(
  output: () => string,
  offset: number,
  timeoutMs = 1_000,
): Promise<number | undefined> {
  for (const deadline = Date.now() + timeoutMs; ;) {
    const rate = loggedGenerationRate(output().slice(offset));
    if (rate != null || Date.now() > deadline) return rate;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * Pairs the answers a benchmark measures through a path with the pace the node's own
 * engine made them at (its debug line, see {@link loggedGenerationRate}): the node's pace,
 * and the path's pace ÷ it per answer, which is what the path itself keeps.
 */
export class NodePace {
  readonly #output: () => string;
  readonly #own: number[] = [];
  readonly #kept: number[] = [];
  #answers = 0;

  /** `output`: everything the node has printed so far. */
  constructor(output: () => string) {
    this.#output = output;
  }

  /** Runs one answer; `pace` reads its tokens/s through the path from its result. */
  async measure<T>(answer: () => Promise<T>, pace: (result: T) => number): Promise<T> {
    const offset = this.#output().length;
    const result = await answer();
    this.#answers += 1;
    const own = await nodeGenerationRate(this.#output, offset);
    if (own != null) {
      this.#own.push(own);
      this.#kept.push(pace(result) / own);
    }
    return result;
  }

  /** E.g. `demo tok/s, the provider's own generation`, `mesh / the provider's own generation tok/s`. */
  figures(model: string, node: string, path: string, whosePace: string): Figure[] {
    const own = `the ${node}'s own generation`;
    return [
      figure(
        `${model} tok/s, ${own}`,
        median(this.#own),
        'tok/s',
        undefined,
        `the same answers as made by the ${node}'s engine (its debug log), ${this.#own.length} of ${this.#answers}`,
      ),
      figure(
        `${path} / ${own} tok/s`,
        median(this.#kept),
        'ratio',
        undefined,
        `per answer, ${whosePace} ÷ the ${node} engine's: what the path itself keeps`,
      ),
    ];
  }
}

export function figure(
  name: string,
  value: number,
  unit: string,
  target?: { op: '<=' | '>='; value: number },
  details?: string,
): Figure {
  const pass =
    target == null ? undefined : target.op === '<=' ? value <= target.value : value >= target.value;
  return { name, value: Number(value.toPrecision(4)), unit, target, pass, runtime, details };
}

/** Stores this file's figures for the final report. */
export async function record(file: string, figures: Figure[]): Promise<void> {
  const tag = runtime.startsWith('node') ? 'node' : 'chromium';
  const json = JSON.stringify(figures, null, 2);
  if (tag === 'chromium') {
    const { commands } = await import('vitest/browser');
    await commands.writeFile(`bench/results/parts/${tag}-${file}.json`, json);
  } else {
    const { mkdir, writeFile } = await import('node:fs/promises');
    await mkdir('bench/results/parts', { recursive: true });
    await writeFile(`bench/results/parts/${tag}-${file}.json`, json);
  }
}
