/** The hardware summary a node puts in its signed model card. */
import { arch, cpus, platform, totalmem } from 'node:os';
import type { Hardware } from '../protocol/index.js';

export function hardwareSummary(engine?: { backend: string; gpuName?: string | null }): Hardware {
  const list = cpus();
  return {
    platform: platform(),
    arch: arch(),
    cpus: list.length,
    cpuModel: (list[0]?.model ?? 'unknown').trim().slice(0, 128),
    memoryBytes: totalmem(),
    backend: engine?.backend ?? 'none',
    gpu: engine?.gpuName ?? null,
  };
}
