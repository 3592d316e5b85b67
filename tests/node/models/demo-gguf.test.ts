import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readGgufFileInfo } from 'node-llama-cpp';
import { afterAll, describe, expect, it } from 'vitest';
import {
  DEMO_CONTEXT_LENGTH,
  DEMO_MODEL_SHA256,
  generateDemoGguf,
} from '../../../node/models/demo-gguf.js';

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

describe('generateDemoGguf', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('is byte-identical across runs, with a stable known sha256', () => {
    for (const variant of ['scripted', 'endless', 'random'] as const) {
      const first = generateDemoGguf(variant);
      const second = generateDemoGguf(variant);
      expect(Buffer.compare(first.bytes, second.bytes)).toBe(0);
      expect(first.sha256).toBe(sha256(first.bytes));
      expect(second.sha256).toBe(first.sha256);
      expect(first.sha256).toBe(DEMO_MODEL_SHA256[variant]);
    }
  });

  it('gives different files for the two variants and for another seed', () => {
    const scripted = generateDemoGguf('scripted');
    const random = generateDemoGguf('random');
    const reseeded = generateDemoGguf('random', { seed: 7 });
    expect(scripted.sha256).not.toBe(random.sha256);
    expect(reseeded.sha256).not.toBe(random.sha256);
    expect(scripted.bytes.length).toBe(random.bytes.length);
  });

  it('writes a GGUF v3 llama model that node-llama-cpp parses', async () => {
    const { bytes, parameters } = generateDemoGguf('scripted');
    expect(new TextDecoder().decode(bytes.subarray(0, 4))).toBe('GGUF');
    expect(new DataView(bytes.buffer, bytes.byteOffset).getUint32(4, true)).toBe(3);
    const dir = await mkdtemp(join(tmpdir(), 'tp-gguf-'));
    dirs.push(dir);
    const file = join(dir, 'demo.gguf');
    await writeFile(file, bytes);
    const info = await readGgufFileInfo(file, { logWarnings: false });
    expect(info.version).toBe(3);
    expect(info.metadata.general.architecture).toBe('llama');
    expect(info.architectureMetadata.context_length).toBe(DEMO_CONTEXT_LENGTH);
    expect(info.metadata.tokenizer.ggml.tokens).toHaveLength(307);
    expect(info.metadata.tokenizer.chat_template).toContain('<|im_start|>');
    const tensors = info.fullTensorInfo ?? [];
    expect(tensors).toHaveLength(21);
    const counted = tensors.reduce(
      (sum, t) => sum + t.dimensions.reduce<number>((n, d) => n * Number(d), 1),
      0,
    );
    expect(counted).toBe(parameters);
    // Every tensor starts on a 32-byte boundary and the last one ends inside the file.
    for (const t of tensors) expect(Number(t.fileOffset) % 32).toBe(0);
  });

  it('checks its scripted bigram program, with a wide logit margin', () => {
    const { selfCheck } = generateDemoGguf('scripted');
    expect(selfCheck?.tokens).toBe(307);
    expect(selfCheck?.minMargin).toBeGreaterThan(20);
    expect(generateDemoGguf('random').selfCheck).toBeUndefined();
  });

  it('fails its self-check when the embedding is too narrow to hold the script', () => {
    // 8 dimensions cannot separate 307 tokens: the check must catch it, not write a broken model.
    expect(() => generateDemoGguf('scripted', { embeddingLength: 8, headCount: 2 })).toThrow(
      expect.objectContaining({ name: 'DemoModelSelfCheckError' }),
    );
  });

  it('refuses impossible shapes', () => {
    expect(() => generateDemoGguf('scripted', { embeddingLength: 100, headCount: 3 })).toThrow(
      RangeError,
    );
    expect(() => generateDemoGguf('random', { headCount: 4, headCountKv: 3 })).toThrow(RangeError);
    expect(() => generateDemoGguf('nope' as never)).toThrow(RangeError);
  });

  it('supports grouped-query attention and a bigger shape', () => {
    const big = generateDemoGguf('scripted', {
      embeddingLength: 256,
      blockCount: 4,
      headCountKv: 2,
      feedForwardLength: 512,
    });
    expect(big.selfCheck?.minMargin).toBeGreaterThan(20);
    expect(big.bytes.length).toBeGreaterThan(generateDemoGguf('scripted').bytes.length);
  });
});

describe('the demo model in node-llama-cpp', () => {
  it('loads, and its chat template resolves to ChatML', async () => {
    const { getLlama, resolveChatWrapper } = await import('node-llama-cpp');
    const dir = await mkdtemp(join(tmpdir(), 'tp-gguf-load-'));
    try {
      const file = join(dir, 'demo.gguf');
      await writeFile(file, generateDemoGguf('scripted').bytes);
      const llama = await getLlama({
        gpu: false,
        build: 'never',
        skipDownload: true,
        progressLogs: false,
        maxThreads: 1,
      });
      const model = await llama.loadModel({ modelPath: file });
      expect(model.trainContextSize).toBe(DEMO_CONTEXT_LENGTH);
      // The engine uses ChatML for the built-in models without this (slow) resolution.
      expect(resolveChatWrapper(model).wrapperName).toBe('ChatML');
      await llama.dispose();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
