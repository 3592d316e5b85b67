/**
 * The process's llama.cpp backends: one node-llama-cpp `Llama` per GPU mode, shared by
 * every engine in the process, plus a tap on llama.cpp's log.
 *
 * Why shared and never disposed by an engine: llama.cpp's log callback is process-global.
 * Measured with node-llama-cpp 3.21.1: once a second `Llama` exists, or after one was
 * disposed and another created, llama.cpp's messages bypass the `logger` option and go
 * straight to stderr. The tap is how a vague "Failed to load model" becomes the real
 * reason, so the engine keeps exactly one `Llama` per mode alive. An engine's `close()`
 * frees what holds memory (context, model); the backend itself is small, and
 * node-llama-cpp disposes it before the process exits ({@link disposeLlamaBackends} does
 * it explicitly).
 *
 * Options always passed: `build: 'never'` (never compile llama.cpp, whatever is
 * installed), `skipDownload: true`, `progressLogs: false`, and `maxThreads` (the library
 * default oversubscribes small machines about 700-fold).
 */
import { logger } from '@libp2p/logger';
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';
import type { Llama } from 'node-llama-cpp';
import { ModelLoadError } from '../models/errors.js';

const log = logger('tokenplace:node:engine');
const llamaLog = logger('tokenplace:node:engine:llama');

/** llama.cpp log lines kept for diagnosing failures. */
const RECENT_LINES = 64;

interface LlamaLine {
  seq: number;
  level: LlamaLogLevel;
  message: string;
}

const recent: LlamaLine[] = [];
let lineSeq = 0;

/**
 * The llama.cpp log sink. At `warn` and above llama.cpp talks about files, tensors,
 * memory and devices — never about prompts or tokens — and the level is fixed at `warn`.
 */
function onLlamaLog(level: LlamaLogLevel, message: string): void {
  const line = message.trimEnd();
  if (line === '') return;
  if (level === LlamaLogLevel.error || level === LlamaLogLevel.fatal) llamaLog.error('%s', line);
  else llamaLog('%s: %s', level, line);
  recent.push({ seq: ++lineSeq, level, message: line });
  if (recent.length > RECENT_LINES) recent.shift();
}

/** A position in the llama.cpp log, for {@link llamaErrorsSince}. */
export function llamaLogMark(): number {
  return lineSeq;
}

/**
 * llama.cpp error lines logged after `mark`. They arrive asynchronously (node-llama-cpp
 * batches native log lines in a microtask), so this waits one macrotask first.
 */
export async function llamaErrorsSince(mark: number): Promise<string[]> {
  await new Promise((resolve) => setImmediate(resolve));
  return recent
    .filter(
      (line) =>
        line.seq > mark &&
        (line.level === LlamaLogLevel.error || line.level === LlamaLogLevel.fatal),
    )
    .map((line) => line.message);
}

export type GpuMode = 'auto' | false;

const backends = new Map<'auto' | 'cpu', Promise<Llama>>();

/** A clear message for node-llama-cpp's `NoBinaryFoundError`. */
function noBinaryMessage(gpu: GpuMode, err: Error): string {
  return (
    `no usable prebuilt llama.cpp binary for ${process.platform}-${process.arch}` +
    `${gpu === false ? ' (CPU)' : ''}: ${err.message}. token.place never compiles llama.cpp. ` +
    'Reinstall with optional dependencies (`npm ci`, not `--omit=optional`) on a supported platform ' +
    '(Linux needs glibc 2.34 or newer; musl/Alpine is not supported).'
  );
}

/**
 * The shared backend for `gpu`, created on first use. Raises the backend's thread limit
 * to `threads` when an engine needs more than earlier ones.
 */
export async function acquireLlama(gpu: GpuMode, threads: number): Promise<Llama> {
  const key = gpu === false ? 'cpu' : 'auto';
  if (key === 'cpu' && !backends.has('cpu')) {
    // A CPU-only 'auto' backend serves CPU requests too: one Llama keeps the log tap working.
    const auto = await backends.get('auto')?.catch(() => undefined);
    if (auto && !auto.disposed && auto.gpu === false) return raiseThreads(auto, threads);
  }
  let pending = backends.get(key);
  if (!pending) {
    const started = performance.now();
    pending = getLlama({
      gpu,
      build: 'never',
      skipDownload: true,
      progressLogs: false,
      maxThreads: threads,
      logLevel: LlamaLogLevel.warn,
      logger: onLlamaLog,
    }).then(
      (llama) => {
        log(
          'llama.cpp backend %s ready in %d ms (gpu %s, %s)',
          key,
          Math.round(performance.now() - started),
          llama.gpu,
          llama.buildType,
        );
        return llama;
      },
      (err: unknown) => {
        backends.delete(key);
        const error = err as Error;
        if (error.name === 'NoBinaryFoundError') {
          throw new ModelLoadError(noBinaryMessage(gpu, error), undefined, { cause: err });
        }
        throw new ModelLoadError(`cannot start llama.cpp: ${error.message}`, undefined, {
          cause: err,
        });
      },
    );
    backends.set(key, pending);
  }
  const llama = await pending;
  if (llama.disposed) {
    backends.delete(key);
    return acquireLlama(gpu, threads);
  }
  return raiseThreads(llama, threads);
}

function raiseThreads(llama: Llama, threads: number): Llama {
  if (llama.maxThreads !== 0 && llama.maxThreads < threads) llama.maxThreads = threads;
  return llama;
}

/** Dispose every shared backend (process shutdown). Engines using them must be closed first. */
export async function disposeLlamaBackends(): Promise<void> {
  const all = [...backends.values()];
  backends.clear();
  await Promise.all(
    all.map(async (pending) => {
      try {
        await (await pending).dispose();
      } catch {
        // a backend that failed to start has nothing to dispose
      }
    }),
  );
}
