/**
 * `brook start`: runs one node with the embedded defaults, overridden by a config file, BROOK_*
 * environment variables and flags. Stops cleanly on SIGINT or SIGTERM.
 */
import type { Command } from 'commander';
import { resolveConfig, settings } from '../config.js';
import { BrookNode } from '../node.js';

export function registerStart(program: Command): void {
  const cmd = program.command('start').description('start a Brook node');
  cmd.option('--config <file>', 'config file: JSON, or key=value lines (keys as the flags below)');
  for (const s of settings) cmd.option(`--${s.flag} <value>`, `${s.describe} [env ${s.env}]`);
  cmd.action(async (opts: Record<string, string | undefined>) => {
    const config = resolveConfig({ file: opts.config, env: process.env, flags: opts });
    // The handlers go in before the node starts: a signal that arrives while it starts (or just
    // after it logged that it started) must stop it cleanly, not kill the process mid-write.
    let signals = 0;
    // Not a const assigned below: a signal during the start reads it (undefined) before that.
    let started: BrookNode | undefined = undefined;
    let stopRequested: string | undefined;
    const stop = (node: BrookNode, sig: string) => {
      node.log.info({ signal: sig }, 'shutting down');
      node.stop().then(
        () => process.exit(0),
        (err) => {
          node.log.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    };
    const onSignal = (sig: string) => {
      signals++;
      if (signals > 1) {
        process.stderr.write(`brook: second ${sig}: exiting without a clean shutdown\n`);
        process.exit(130);
      }
      if (started) stop(started, sig);
      else stopRequested = sig;
    };
    process.on('SIGINT', () => onSignal('SIGINT'));
    process.on('SIGTERM', () => onSignal('SIGTERM'));
    started = await BrookNode.start(config);
    if (stopRequested) stop(started, stopRequested);
  });
}
