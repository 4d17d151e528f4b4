/**
 * The `brook` command line. Each subcommand lives in its own file; this one wires them up.
 * Exit codes: 0 on success (and for --help), 2 for a usage error (a bad or missing option or
 * value, a bad setting), 1 for a failure while running (a broker error, an unreachable broker).
 */
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config.js';
import { registerActors } from './actors.js';
import { registerConfigs } from './configs.js';
import { registerConsole } from './console.js';
import { registerConsume } from './consume.js';
import { registerGroups } from './groups.js';
import { failureMessage, UsageError } from './options.js';
import { registerPerf } from './perf.js';
import { registerProduce } from './produce.js';
import { registerStart } from './start.js';
import { registerTopics } from './topics.js';

export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export async function main(argv: string[]): Promise<void> {
  const program = new Command('brook')
    .description('Brook: an event streaming platform for Node.js that speaks the Kafka protocol')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();
  registerStart(program);
  registerTopics(program);
  registerProduce(program);
  registerConsume(program);
  registerGroups(program);
  registerConfigs(program);
  registerPerf(program);
  registerActors(program);
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
