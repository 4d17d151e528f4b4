/**
 * Types of the fault test's checker (scripts/lib/chaos-checker.mjs, plain JavaScript), and the
 * module itself loaded through them: the tests see it typed without a declaration file beside it.
 */
export interface Write {
  value: string;
  producer: string;
  seq: number;
  status: 'acked' | 'failed' | 'unknown';
  partition?: number;
  offset?: number;
  error?: string;
}

export interface ReadRecord {
  offset: number;
  value: string | null;
}

export interface PartitionRead {
  records: ReadRecord[];
  highWatermark?: number;
  error?: string;
}

export interface Read {
  partitions: Record<number, PartitionRead>;
}

export interface Replica {
  node: number;
  partition: number;
  records: ReadRecord[];
  missing?: boolean;
}

export type Anomaly = 'lost' | 'duplicated' | 'reordered' | 'inconsistentReads' | 'inconsistentReplicas' | 'ackedAtOtherOffset' | 'neverWritten';
export type Info = 'failedLanded' | 'failedMissing' | 'unknownLanded' | 'unknownMissing';

export interface CheckResult {
  ok: boolean;
  counts: Record<Anomaly | Info, number>;
  examples: Record<Anomaly | Info, string[]>;
  totals: { written: number; acked: number; failed: number; unknown: number; read: number };
  replicaEnds: Record<number, Record<number, number | null>>;
}

export interface CheckerModule {
  ANOMALIES: [Anomaly, string][];
  INFO: [Info, string][];
  check: (input: { writes?: Write[]; reads?: Read[]; replicas?: Replica[] }) => CheckResult;
  formatTable: (header: string[], rows: (string | number)[][]) => string;
  formatReport: (result: Pick<CheckResult, 'counts' | 'examples'>) => string;
}

export const checker = (await import(new URL('../../scripts/lib/chaos-checker.mjs', import.meta.url).href)) as CheckerModule;
