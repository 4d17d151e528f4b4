/**
 * The node's logger (pino): JSON lines by default, human-readable when stdout is a terminal.
 * Every actor restart, failure and move is logged with its reason (see `logLifecycle`).
 */
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { Supervisor } from './runtime/supervisor.js';

export type { Logger };

export function createLogger(level: string, opts: { pretty?: boolean } = {}): Logger {
  const human = opts.pretty ?? process.stdout.isTTY === true;
  if (!human) return pino({ level, base: { name: 'brook' } });
  return pino({ level }, pretty({ sync: true, colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' }));
}

export function logLifecycle(sup: Supervisor, log: Logger): void {
  sup.events.on('started', (e) => log.debug(e, 'actor started'));
  sup.events.on('stopped', (e) => log.debug(e, 'actor stopped'));
  sup.events.on('restarted', (e) => log.warn(e, 'actor restarted'));
  sup.events.on('failed', (e) => log.error(e, 'actor failed and will not be restarted'));
  sup.events.on('moved', (e) => log.info(e, 'actor moved'));
  sup.events.on('workerExited', (e) => log.error(e, 'worker thread exited; restarting its actors on a new thread'));
  sup.events.on('workerAdded', (e) => log.info(e, 'worker thread added'));
}
