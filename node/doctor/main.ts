/** `token.place doctor`: the CLI around `runDoctor` — options, the report, the exit code. */
import { ConfigError } from '../../protocol/index.js';
import { doctorHelp, loadDoctorConfig, type DoctorConfig } from './config.js';

export interface CommandContext {
  version: string;
  env?: Readonly<Record<string, string | undefined>>;
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
}

/** Runs `token.place doctor`. Returns 0 when nothing fails, 1 otherwise, 2 for bad options. */
export async function runDoctorCommand(
  argv: readonly string[],
  ctx: CommandContext,
): Promise<number> {
  const stdout = ctx.stdout ?? process.stdout;
  const stderr = ctx.stderr ?? process.stderr;
  if (argv.includes('--help') || argv.includes('-h')) {
    stdout.write(`${doctorHelp()}\n`);
    return 0;
  }
  let config: DoctorConfig;
  try {
    config = loadDoctorConfig(argv, ctx.env ?? process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      stderr.write(`token.place doctor: ${err.message}\n`);
      return 2;
    }
    throw err as Error;
  }
  // Loaded only now, so --help and configuration errors answer at once.
  const { formatReport, runDoctor } = await import('./doctor.js');
  const report = await runDoctor(config, { version: ctx.version });
  stdout.write(config.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`);
  return report.exitCode;
}
