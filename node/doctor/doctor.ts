/**
 * Runs every check and puts the report together: the checks' results, an overall status,
 * the machine's facts and a model recommendation. {@link formatReport} prints it for people.
 */
import {
  defaultThreads,
  formatBytes,
  physicalCoreCount,
  systemMemory,
} from '../engine/defaults.js';
import { acquireLlama, disposeLlamaBackends } from '../engine/llama-backend.js';
import {
  checkBackend,
  checkBootstraps,
  checkCpu,
  checkDataDir,
  checkDisk,
  checkMemory,
  checkModel,
  checkNode,
  checkOs,
  checkPorts,
  dialBootstraps,
  inspectModel,
  listenPorts,
  type BackendProbe,
  type CheckResult,
  type CheckStatus,
  type PortToCheck,
} from './checks.js';
import { parseHostPort, type DoctorConfig } from './config.js';
import { MODEL_TIERS, recommendModel, type Recommendation } from './recommend.js';
import { parseLlamaSystemInfo, readMachineInfo } from './system.js';

export interface DoctorReport {
  /** The token.place version that ran the checks. */
  tokenplace: string;
  /** `fail` if any check failed, else `warn` if any warned, else `pass`. */
  status: CheckStatus;
  /** 0 when nothing failed, 1 otherwise (what `token.place doctor` exits with). */
  exitCode: 0 | 1;
  checks: CheckResult[];
  machine: {
    platform: string;
    arch: string;
    board: string | null;
    cpuModel: string;
    physicalCores: number;
    logicalCpus: number;
    memoryBytes: number;
    availableMemoryBytes: number;
    backend: string | null;
  };
  recommendation: Recommendation;
}

export interface RunDoctorOptions {
  version: string;
  /** Hugging Face endpoint for `hf:` cache lookups. @default `HF_ENDPOINT`, else huggingface.co */
  hfEndpoint?: string;
}

async function probeBackend(gpu: 'auto' | false, threads: number): Promise<BackendProbe> {
  try {
    // The engine's own backend: the same options (`build: 'never'`, no download), so what
    // the doctor reports is what `token.place node` gets. It never compiles anything.
    const llama = await acquireLlama(gpu, threads);
    const gpuNames = llama.gpu === false ? [] : await llama.getGpuDeviceNames().catch(() => []);
    const vram = llama.gpu === false ? 0 : (await llama.getVramState().catch(() => null))?.total;
    return {
      ok: true,
      backend: llama.gpu === false ? 'cpu' : llama.gpu,
      buildType: llama.buildType,
      gpuNames,
      vramBytes: vram ?? 0,
      features: parseLlamaSystemInfo(llama.systemInfo),
    };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

export async function runDoctor(
  config: DoctorConfig,
  options: RunDoctorOptions,
): Promise<DoctorReport> {
  const [machine, physicalCores, facts] = await Promise.all([
    readMachineInfo(),
    physicalCoreCount(),
    inspectModel(config.model, config.dataDir, options.hfEndpoint),
  ]);
  const memory = systemMemory();
  const gpuMode = config.gpu === 'off' ? 'off' : 'auto';
  const builtIn = facts.kind === 'built-in';

  // The backend probe takes a second or two (it tries the GPU binaries); dial the
  // bootstraps meanwhile.
  const [probe, dials] = await Promise.all([
    probeBackend(
      gpuMode === 'off' ? false : 'auto',
      config.threads ?? defaultThreads(false, physicalCores),
    ),
    dialBootstraps(config.bootstrap, Math.round(config.timeout * 1000)),
  ]);
  try {
    // RAM holds the model on the CPU and with Metal; the demo models always run on the CPU.
    const modelBackend = builtIn && config.gpu == null ? 'cpu' : probe.ok ? probe.backend : 'cpu';
    const ramBound = modelBackend === 'cpu' || modelBackend === 'metal';
    const gpuWorks = probe.ok && probe.backend !== 'cpu';
    const recommendation = recommendModel(
      memory.totalBytes,
      physicalCores,
      gpuWorks && probe.backend !== 'metal',
    );
    const recommendedBytes =
      MODEL_TIERS.find((t) => t.example.model === recommendation.model)?.example.shape.fileBytes ??
      0;

    const ports: PortToCheck[] = [
      { label: 'API', host: config.apiHost, port: config.apiPort, http: true },
      ...(config.bootstrapHttp != null
        ? [{ label: 'bootstrap HTTP', ...parseHostPort(config.bootstrapHttp), http: true }]
        : []),
      ...listenPorts(config.bootstrapListen),
    ];

    const checks: CheckResult[] = [
      checkNode(),
      checkOs(machine),
      checkCpu(machine, physicalCores, probe.ok ? probe.features : undefined),
      checkBackend(probe, gpuMode, builtIn),
      checkModel(facts),
      checkMemory({
        facts,
        physicalCores,
        totalBytes: memory.totalBytes,
        availableBytes: memory.availableBytes,
        ramBound,
        threads: config.threads,
        maxConcurrency: config.maxConcurrency,
        contextSize: config.contextSize,
      }),
      await checkDisk(config.dataDir, facts, recommendedBytes),
      await checkDataDir(config.dataDir),
      await checkPorts(ports),
      checkBootstraps(dials),
    ];
    const status: CheckStatus = checks.some((c) => c.status === 'fail')
      ? 'fail'
      : checks.some((c) => c.status === 'warn')
        ? 'warn'
        : 'pass';
    return {
      tokenplace: options.version,
      status,
      exitCode: status === 'fail' ? 1 : 0,
      checks,
      machine: {
        platform: machine.platform,
        arch: machine.arch,
        board: machine.board ?? null,
        cpuModel: machine.cpuModel,
        physicalCores,
        logicalCpus: machine.logicalCpus,
        memoryBytes: memory.totalBytes,
        availableMemoryBytes: memory.availableBytes,
        backend: probe.ok ? probe.backend : null,
      },
      recommendation,
    };
  } finally {
    await disposeLlamaBackends();
  }
}

const LABEL: Record<CheckStatus, string> = { pass: 'PASS', warn: 'WARN', fail: 'FAIL' };

/** The report for people: one line per check, hints under warnings and failures. */
export function formatReport(report: DoctorReport): string {
  const width = Math.max(...report.checks.map((c) => c.title.length));
  const lines = [
    '',
    `  token.place doctor ${report.tokenplace} — can this machine run a node?`,
    '',
  ];
  for (const check of report.checks) {
    lines.push(`  ${LABEL[check.status]}  ${check.title.padEnd(width)}  ${check.summary}`);
    if (check.hint != null && check.status !== 'pass') {
      lines.push(`  ${''.padEnd(4)}  ${''.padEnd(width)}  → ${check.hint}`);
    }
  }
  const m = report.machine;
  const r = report.recommendation;
  lines.push(
    '',
    `  Recommended for this machine (${formatBytes(m.memoryBytes)} memory, ${m.physicalCores} core${m.physicalCores === 1 ? '' : 's'}, ${m.backend == null ? 'no backend' : m.backend === 'cpu' ? 'CPU' : m.backend.toUpperCase()}):`,
    `    model     ${r.size}, e.g. ${r.example}`,
    ...(r.note != null ? [`              (${r.note})`] : []),
    `              token.place node --model ${r.model}`,
    `    settings  --threads ${r.threads} --max-concurrency ${r.maxConcurrency} --context-size ${r.contextSize}`,
    '              (what token.place node picks by default for that model here)',
    '',
  );
  const count = (s: CheckStatus): number => report.checks.filter((c) => c.status === s).length;
  const warnings = count('warn');
  const failures = count('fail');
  const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
  lines.push(
    report.status === 'fail'
      ? `  Result: FAIL — ${plural(failures, 'failure')}${warnings > 0 ? `, ${plural(warnings, 'warning')}` : ''}: fix the FAIL lines before starting a node.`
      : report.status === 'warn'
        ? `  Result: WARN — ${plural(warnings, 'warning')}, nothing failed: token.place node can run here.`
        : '  Result: PASS — token.place node can run here.',
    '',
  );
  return lines.join('\n');
}
