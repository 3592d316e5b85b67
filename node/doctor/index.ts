/**
 * `token.place doctor`: can this machine run an inference node, and which model should it
 * serve? It checks, in plain language with PASS, WARN or FAIL on each line: Node.js, the
 * OS and its C library, the CPU and its SIMD features, which llama.cpp backend
 * node-llama-cpp will use (with the engine's own options: never compiling anything), the
 * model (`--model`, as for `token.place node`), memory and disk against that model, the
 * data dir, the ports the node (and a bootstrap) will listen on, and whether the
 * configured bootstraps answer a real libp2p dial. It then recommends a model size and the
 * `--threads`, `--max-concurrency` and `--context-size` the node would pick.
 *
 * @example
 * ```ts
 * import { loadDoctorConfig, runDoctor, formatReport } from './node/doctor/index.js';
 *
 * const report = await runDoctor(loadDoctorConfig(['--model', 'demo'], process.env), { version: '0.1.0' });
 * process.stdout.write(formatReport(report)); // or JSON.stringify(report)
 * process.exitCode = report.exitCode;         // 0 unless a check failed
 * ```
 */
export { DOCTOR_OPTIONS, doctorHelp, loadDoctorConfig, type DoctorConfig } from './config.js';
export { formatReport, runDoctor, type DoctorReport, type RunDoctorOptions } from './doctor.js';
export { runDoctorCommand } from './main.js';
export {
  MODEL_TIERS,
  SMALL_CPU_CORES,
  recommendModel,
  type ModelTier,
  type Recommendation,
} from './recommend.js';
export { parseCpuinfo, parseLlamaSystemInfo } from './system.js';
export type { CheckId, CheckResult, CheckStatus, DialResult } from './checks.js';
