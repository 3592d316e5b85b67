#!/usr/bin/env node
/**
 * `token.place`: the command line. A thin dispatcher, and the only module that knows
 * every role; each subcommand lives in its role's `main` (or in bin/ for `start`,
 * which runs several roles side by side).
 */
import '../protocol/compat.js';
import { readPackageVersion } from './version.js';

interface Command {
  summary: string;
  run(argv: string[]): Promise<number | void>;
}

const COMMANDS: Record<string, Command> = {
  start: {
    summary:
      'a local mesh in one command: bootstrap + inference node + web chat (what npm start runs)',
    run: async (argv) =>
      (await import('./start.js')).runStartCommand(argv, { version: readPackageVersion() }),
  },
  node: {
    summary: 'run an inference node: serve a model, with an OpenAI-compatible API on localhost',
    run: async (argv) =>
      (await import('../node/main.js')).runNodeCommand(argv, { version: readPackageVersion() }),
  },
  bootstrap: {
    summary: 'run a bootstrap: relay, directory and DHT server, web chat and OpenAI gateway',
    run: async (argv) =>
      (await import('../bootstrap/main.js')).runBootstrapCommand(argv, {
        version: readPackageVersion(),
      }),
  },
  doctor: {
    summary:
      'check this machine (Node.js, CPU, memory, disk, llama.cpp backend, ports, bootstraps) and recommend a model size',
    run: async (argv) =>
      (await import('../node/doctor/main.js')).runDoctorCommand(argv, {
        version: readPackageVersion(),
      }),
  },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length), 8);
  const lines = Object.entries(COMMANDS).map(
    ([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`,
  );
  return [
    'token.place: private LLM inference over a peer-to-peer mesh',
    '',
    'Usage: token.place <command> [options]',
    '',
    'Commands:',
    ...(lines.length > 0 ? lines : ['  (none yet)']),
    '',
    'Options:',
    "  -h, --help     show this help (or a command's: token.place <command> --help)",
    '  -v, --version  print the version',
    '',
    'Docs: the docs/ folder of the token.place repository (start with docs/README.md)',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first == null || first === '-h' || first === '--help' || first === 'help') {
    process.stdout.write(`${usage()}\n`);
    return 0;
  }
  if (first === '-v' || first === '--version' || first === 'version') {
    process.stdout.write(`token.place ${readPackageVersion()}\n`);
    return 0;
  }
  const command = COMMANDS[first];
  if (command == null) {
    process.stderr.write(`token.place: unknown command '${first}'\n\n${usage()}\n`);
    return 2;
  }
  return (await command.run(rest)) ?? 0;
}

/**
 * How long a finished command waits for stray handles before the process exits anyway.
 * Every command has shut down what it started by the time it returns (servers closed,
 * libp2p stopped, engines disposed), but native handles can outlive that and hold the
 * process open: a peer connection a browser had open stays behind in node-datachannel
 * after `libp2p.stop()`, a node leaves its WebRTC-direct STUN socket to the exit on
 * purpose (`leaveWebRTCDirectPortsToExit`), and a WebSocket dial that timed out can leave
 * its socket open inside @libp2p/websockets. Unreferenced, so a process with nothing
 * left ends at once, as it should.
 */
const LINGER_MS = 500;

function exitSoon(code: number): void {
  process.exitCode = code;
  setTimeout(() => process.exit(code), LINGER_MS).unref();
}

main(process.argv.slice(2)).then(exitSoon, (err: unknown) => {
  process.stderr.write(`token.place: ${err instanceof Error ? err.message : String(err)}\n`);
  exitSoon(1);
});
