/** Shared fixtures for the interop tests: a real node per test file and kafkajs clients. */
import { Kafka, logLevel, type LogEntry } from 'kafkajs';
import { startBroker, type EmbeddedBroker, type StartBrokerOptions } from '../../src/embedded.js';

export { startBroker, type EmbeddedBroker };

export async function broker(opts: StartBrokerOptions = {}): Promise<EmbeddedBroker> {
  return startBroker({ logLevel: 'warn', ...opts });
}

const LEVEL_NAMES: Record<number, string> = { 1: 'ERROR', 2: 'WARN', 4: 'INFO', 5: 'DEBUG' };

/** kafkajs log lines, kept so a failing test can print what the client saw. */
export const kafkajsLog: string[] = [];

export function kafkajs(bootstrap: string, clientId = 'brook-interop'): Kafka {
  return new Kafka({
    clientId,
    brokers: [bootstrap],
    connectionTimeout: 5_000,
    requestTimeout: 15_000,
    retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1_000 },
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ namespace, level, log }: LogEntry) => {
        const { message, ...rest } = log;
        const line = `[kafkajs ${LEVEL_NAMES[level] ?? level}] ${namespace}: ${message} ${JSON.stringify(rest)}`;
        kafkajsLog.push(line);
        if (kafkajsLog.length > 500) kafkajsLog.shift();
        if (level <= logLevel.ERROR) console.warn(line);
      },
  });
}

/** A record as the python drivers and our assertions see it. */
export interface Rec {
  key: string | null;
  value: string | null;
  headers?: [string, string][];
  partition?: number;
  timestamp?: number;
}

export interface ConsumedRec {
  partition: number;
  offset: number;
  key: string | null;
  value: string | null;
  headers: [string, string][];
  timestamp?: number;
}

export interface ConsumeReply {
  records: ConsumedRec[];
  ends: Record<string, number>;
  complete: boolean;
  errors?: string[];
}

export interface ProduceReply {
  delivered: { partition: number; offset: number; key: string | null; value: string | null }[];
  errors: { error: string; key: string | null }[];
  unflushed?: number;
}

/** Groups records by partition, each list in offset order. */
export function byPartition<T extends { partition: number; offset: number }>(recs: T[]): Map<number, T[]> {
  const m = new Map<number, T[]>();
  for (const r of recs) {
    let l = m.get(r.partition);
    if (!l) m.set(r.partition, (l = []));
    l.push(r);
  }
  for (const l of m.values()) l.sort((a, b) => a.offset - b.offset);
  return m;
}

/** Checks each partition's offsets are 0..n-1 with no gap. */
export function contiguous<T extends { partition: number; offset: number }>(recs: T[]): boolean {
  for (const l of byPartition(recs).values()) if (l.some((r, i) => r.offset !== i)) return false;
  return true;
}

/** key -> the set of partitions it was seen in. */
export function partitionsPerKey(recs: { key: string | null; partition: number }[]): Map<string, Set<number>> {
  const m = new Map<string, Set<number>>();
  for (const r of recs) {
    if (r.key === null) continue;
    let s = m.get(r.key);
    if (!s) m.set(r.key, (s = new Set()));
    s.add(r.partition);
  }
  return m;
}

/** Keyed records with headers: `n` records over `keys` keys. */
export function keyedRecords(prefix: string, n: number, keys: number): Rec[] {
  return Array.from({ length: n }, (_, i) => ({
    key: `${prefix}-key-${i % keys}`,
    value: `${prefix}-value-${i}`,
    headers: [
      ['seq', String(i)],
      ['origin', prefix],
    ] as [string, string][],
  }));
}
