/**
 * The `brook` command line. Each subcommand lives in its own file; this one wires them up.
 */
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config.js';
import { registerActors } from './actors.js';
import { registerConsole } from './console.js';
import { registerStart } from './start.js';

export async function main(argv: string[]): Promise<void> {
  const program = new Command('brook')
    .description('Brook: an event streaming platform for Node.js that speaks the Kafka protocol')
    .showHelpAfterError()
    .exitOverride();
  registerStart(program);
  registerActors(program);
  registerConsole(program);
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.exitCode);
    if (err instanceof ConfigError) {
      process.stderr.write(`brook: ${err.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`brook: ${(err as Error).message}\n`);
    process.exit(1);
  }
}
