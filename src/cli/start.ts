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
    const node = await BrookNode.start(config);
    let signals = 0;
    const onSignal = (sig: string) => {
      signals++;
      if (signals > 1) {
        node.log.warn({ signal: sig }, 'second signal: exiting without a clean shutdown');
        process.exit(130);
      }
      node.log.info({ signal: sig }, 'shutting down');
      node.stop().then(() => process.exit(0), (err) => {
        node.log.error({ err }, 'shutdown failed');
        process.exit(1);
      });
    };
    process.on('SIGINT', () => onSignal('SIGINT'));
    process.on('SIGTERM', () => onSignal('SIGTERM'));
  });
}
