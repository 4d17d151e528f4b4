/**
 * The `brook` command line. Each subcommand lives in its own file; this one wires them up.
 * Exit codes: 0 on success (and for --help and --version), 2 for a usage error (a bad or missing
 * option or value, a bad setting), 1 for a failure while running (a broker error, an unreachable
 * broker). Output read by a pipe that closes early (`| head`) ends the command quietly.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config.js';
import { registerActors } from './actors.js';
import { registerCluster } from './cluster.js';
import { registerConfigs } from './configs.js';
import { registerConsole } from './console.js';
import { registerConsume } from './consume.js';
import { registerGroups } from './groups.js';
import { failureMessage, UsageError } from './options.js';
import { registerPartitions } from './partitions.js';
import { registerPerf } from './perf.js';
import { registerProduce } from './produce.js';
import { registerStart } from './start.js';
import { registerTopics } from './topics.js';

export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export async function main(argv: string[]): Promise<void> {
  endQuietlyOnClosedPipe(process.stdout);
  endQuietlyOnClosedPipe(process.stderr);
  const program = new Command('brook')
    .description('Brook: an event streaming platform for Node.js that speaks the Kafka protocol')
    .version(packageVersion(), '-V, --version', 'print the version of brook')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();
  registerStart(program);
  registerTopics(program);
  registerPartitions(program);
  registerProduce(program);
  registerConsume(program);
  registerGroups(program);
  registerConfigs(program);
  registerPerf(program);
  registerActors(program);
  registerCluster(program);
  registerConsole(program);
  try {
    await program.parseAsync(argv);
  } catch (err) {
    // Commander has printed its message (or the help); --help exits 0, anything else is usage.
    if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : EXIT_USAGE);
    if (err instanceof ConfigError || err instanceof UsageError) {
      process.stderr.write(`brook: ${err.message}\n`);
      process.exit(EXIT_USAGE);
    }
    process.stderr.write(`brook: ${failureMessage(err)}\n`);
    process.exit(EXIT_FAILURE);
  }
}

/**
 * A reader that stops early (`brook consume t | head -2`, `brook actors --json | head`) closes
 * the pipe, and the next write fails with EPIPE. Without a listener that error is thrown as an
 * unhandled 'error' event with a stack trace; Unix tools end quietly instead, so every command
 * does: the reader has all it wanted, so the exit code is the command's own so far (0 unless it
 * had already failed), and nothing is printed, since the other stream is often the same pipe.
 */
export function endQuietlyOnClosedPipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
    // Any other write failure (a full disk under a redirect) is a failure of the command.
    if (stream !== process.stderr) process.stderr.write(`brook: cannot write output: ${err.message}\n`);
    process.exit(EXIT_FAILURE);
  });
}

/**
 * The version in Brook's package.json, found by walking up from this file: the same code runs
 * from src/cli (tests) and dist/src/cli (the installed command), at different depths.
 */
export function packageVersion(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'brook' && typeof pkg.version === 'string') return pkg.version;
    }
    if (dirname(dir) === dir) return 'unknown';
  }
}
