/**
 * The partition actor's maintenance cadence, on fake timers (no worker thread, no node): time
 * and size retention run every log.retention.check.interval.ms (the first check at most 30 s
 * after the actor starts, as Kafka's initial task delay), not on every maintenance tick, while
 * compaction steps keep their one-second cadence. Runs in the test's own thread; the actor's
 * scheduled maintenance turns are delivered by a fake context on the same fake timers.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { PartitionConfig, PartitionMessage, PartitionProtocol, PartitionState } from '../../actors/partition/messages.js';
import { PartitionActor } from '../../actors/partition/partition-actor.js';
import type { ActorContext } from '../../src/runtime/actor.js';
import { buildBatch } from '../../src/storage/record-batch.js';
import { defaultTopicConfig, type TopicConfig } from '../../src/storage/topic-config.js';
import { useTempLogs } from '../storage/helpers.js';

const temp = useTempLogs();
const second = 1000;
const minute = 60 * second;
const actors: PartitionActor[] = [];

beforeEach(() => {
  vi.useFakeTimers({ now: 1_800_000_000_000 });
});
afterEach(() => {
  for (const actor of actors.splice(0)) actor.stop();
  vi.useRealTimers();
});

/** A partition actor over a fresh log, both reading the fake clock. */
function startActor(topicConfig: Partial<TopicConfig>, logRetentionCheckIntervalMs?: number): PartitionActor {
  const config: TopicConfig = { ...defaultTopicConfig, ...topicConfig };
  const log = temp.open({ clock: () => Date.now(), config });
  // A message the actor schedules to itself is delivered as a turn of its own, as ThreadHost
  // does; the timer fires after the constructor returned, so `actor` is set by then.
  const schedule = (msg: PartitionMessage, delayMs: number) => {
    const timer = setTimeout(() => void actor.receive([msg]), delayMs);
    return () => clearTimeout(timer);
  };
  const ctx = { id: 'partition:t:0', kind: 'partition', threadIndex: 0, now: () => Date.now(), notify: () => {}, schedule } as unknown as ActorContext<PartitionProtocol>;
  const cfg: PartitionConfig = { topic: 't', partition: 0, path: log.path, durability: 'normal', topicConfig: config, logRetentionCheckIntervalMs };
  const actor = new PartitionActor(ctx, cfg, log);
  actors.push(actor);
  return actor;
}

function state(actor: PartitionActor): PartitionState {
  return actor.inspect();
}

async function append(actor: PartitionActor, timestampMs: number): Promise<void> {
  const [outcome] = await actor.receive([{ type: 'Append', records: buildBatch({ records: [{ key: 'k', value: 'v' }], timestampMs }) }]);
  expect(outcome).toMatchObject({ ok: true });
}

describe('retention check interval', () => {
  it('checks retention every log.retention.check.interval.ms, the first check 30 s after start', async () => {
    // retention.bytes 0: every check deletes everything it may, so each check shows.
    const actor = startActor({ retentionBytes: 0, segmentBytes: 14 }, 5 * minute);
    await append(actor, -1);
    await append(actor, 1_000);
    await vi.advanceTimersByTimeAsync(29 * second);
    expect(state(actor)).toMatchObject({ retentionChecks: 0, logStartOffset: 0 });
    await vi.advanceTimersByTimeAsync(1 * second);
    expect(state(actor)).toMatchObject({ retentionChecks: 1, logStartOffset: 2 });

    await append(actor, -1);
    await vi.advanceTimersByTimeAsync(5 * minute - second);
    expect(state(actor)).toMatchObject({ retentionChecks: 1, logStartOffset: 2 });
    await vi.advanceTimersByTimeAsync(second);
    expect(state(actor)).toMatchObject({ retentionChecks: 2, logStartOffset: 3 });
  });

  it("defaults to Kafka's 5 minutes, and never deletes by time what arrived within retention.ms", async () => {
    const actor = startActor({ retentionMs: 10 * minute, segmentBytes: 14 });
    await append(actor, -1);
    await append(actor, 0);
    await vi.advanceTimersByTimeAsync(30 * second + 5 * minute);
    // Two checks ran (30 s, 5 min 30 s); both batches arrived less than retention.ms before each.
    expect(state(actor)).toMatchObject({ retentionChecks: 2, logStartOffset: 0, logEndOffset: 2 });
    await vi.advanceTimersByTimeAsync(5 * minute);
    // At 10 min 30 s they arrived more than retention.ms ago: the log empties.
    expect(state(actor)).toMatchObject({ retentionChecks: 3, logStartOffset: 2, logEndOffset: 2 });
  });

  it('keeps compaction on its one-second cadence between retention checks', async () => {
    const actor = startActor({ cleanupPolicy: 'compact', segmentBytes: 14, minCleanableDirtyRatio: 0 }, 5 * minute);
    for (let i = 0; i < 3; i++) await append(actor, Date.now());
    await vi.advanceTimersByTimeAsync(3 * second);
    // The first two batches (same key) are cleanable below the active segment: one survives.
    expect(state(actor)).toMatchObject({ retentionChecks: 0, cleaner: { cleanerCheckpoint: 2 } });
  });
});
