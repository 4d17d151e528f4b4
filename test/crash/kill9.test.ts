/**
 * Crash safety of acknowledged writes: a node in a child process takes pipelined produces
 * (acks=1 and acks=-1 alternating, one to three records per batch, several requests in flight)
 * and is SIGKILLed at a seeded random moment; restarted on the same data dir and port, every
 * acknowledged record must be in the log exactly once, at its acknowledged offset, in order.
 * Unacknowledged records may or may not be there, at most once each (nothing is retried).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { buildBatch } from '../../src/storage/record-batch.js';
import { tempDir } from '../helpers/tmp.js';
import { ensureTopic, fetchAll, RawClient, RawClientClosedError } from '../helpers/raw-client.js';
import { freePort, startChildNode, type ChildNode } from './child-node.js';
import { prng } from '../helpers/prng.js';

const SEED = Number(process.env.BROOK_KILL9_SEED ?? 0x6b696c6c);
const ROUNDS = 20;
const IN_FLIGHT = 8;
const TOPIC = 'crash-kill9';
const TOTAL_BUDGET_MS = 85_000;

interface Acked {
  offset: number;
  value: string;
  /** Send order across the whole test, to check the log keeps it. */
  seq: number;
}

describe('kill -9 while producing', () => {
  let child: ChildNode | undefined;
  const dir = tempDir('brook-kill9-');

  afterAll(async () => {
    await child?.kill9().catch(() => undefined);
    dir.cleanup();
  });

  it(`keeps every acknowledged record across ${ROUNDS} SIGKILLs`, async () => {
    const started = Date.now();
    const random = prng(SEED);
    const port = await freePort();
    const acked: Acked[] = [];
    const sent = new Set<string>();
    let seq = 0;
    const stats = { produced: 0, acked: 0, unacked: 0, presentUnacked: 0, errors: 0 };

    const verify = async (c: RawClient, round: number) => {
      const { records, highWatermark } = await fetchAll(c, TOPIC, 0, 0, 20_000);
      const where = `after restart ${round} (seed ${SEED})`;
      // Offsets strictly increase: every record once, in order.
      for (let i = 1; i < records.length; i++) {
        expect(records[i]!.offset, `${where}: offsets out of order at index ${i}`).toBeGreaterThan(records[i - 1]!.offset);
      }
      const byOffset = new Map(records.map((r) => [r.offset, r.value]));
      const counts = new Map<string, number>();
      for (const r of records) {
        expect(sent.has(r.value!), `${where}: unknown value ${r.value} at ${r.offset}`).toBe(true);
        counts.set(r.value!, (counts.get(r.value!) ?? 0) + 1);
      }
      for (const [value, n] of counts) expect(n, `${where}: ${value} is in the log ${n} times`).toBe(1);
      for (const a of acked) {
        expect(byOffset.get(a.offset), `${where}: acknowledged ${a.value} missing at offset ${a.offset} (high watermark ${highWatermark})`).toBe(a.value);
      }
      stats.presentUnacked = records.length - acked.length;
    };

    for (let round = 0; round <= ROUNDS; round++) {
      expect(Date.now() - started, 'time budget').toBeLessThan(TOTAL_BUDGET_MS);
      child = await startChildNode({ port, dataDir: dir.dir, workers: 2 });
      const c = await RawClient.connect(child.host, child.port, { clientId: 'kill9' });
      try {
        await ensureTopic(c, TOPIC);
        await verify(c, round);
        if (round === ROUNDS) break;

        // Produce with IN_FLIGHT requests outstanding until the connection dies.
        const killAfterMs = 30 + Math.floor(random() * 400);
        let stop = false;
        const one = async (): Promise<void> => {
          while (!stop) {
            const n = 1 + Math.floor(random() * 3);
            const mySeq = seq++;
            const values = Array.from({ length: n }, (_, i) => `r${round}-s${mySeq}-${i}`);
            for (const v of values) sent.add(v);
            const acks = mySeq % 2 === 0 ? 1 : -1;
            stats.produced += n;
            let res;
            try {
              res = await c.request(
                0,
                9,
                {
                  acks,
                  timeoutMs: 5_000,
                  topicData: [{ name: TOPIC, partitionData: [{ index: 0, records: buildBatch({ records: values.map((value) => ({ key: 'k', value })) }) }] }],
                },
                10_000,
              );
            } catch (err) {
              stats.unacked += n;
              if (err instanceof RawClientClosedError) return;
              throw err;
            }
            const p = res.responses[0]!.partitionResponses[0]!;
            if (p.errorCode !== 0) {
              stats.errors++;
              stats.unacked += n;
              continue;
            }
            stats.acked += n;
            values.forEach((value, i) => acked.push({ offset: p.baseOffset + i, value, seq: mySeq }));
          }
        };
        const producers = Array.from({ length: IN_FLIGHT }, () => one());
        await new Promise((r) => setTimeout(r, killAfterMs));
        await child.kill9();
        stop = true;
        await Promise.all(producers);
        expect(c.closed || (await c.waitClosed(5_000))).toBe(true);
      } finally {
        c.close();
        await child.kill9().catch(() => undefined);
      }
    }

    // Acknowledged offsets follow send order (one connection, pipelined, in-order).
    const sorted = [...acked].sort((a, b) => a.seq - b.seq || a.offset - b.offset);
    for (let i = 1; i < sorted.length; i++) {
      expect(sorted[i]!.offset, `acknowledged offsets do not follow send order at seq ${sorted[i]!.seq}`).toBeGreaterThan(sorted[i - 1]!.offset);
    }
    console.log(`kill9: ${JSON.stringify({ seed: SEED, ...stats })} in ${Date.now() - started} ms`);
    expect(stats.acked).toBeGreaterThan(0);
  }, 120_000);
});
