/**
 * ClusterMetadata: this node's copy of the cluster metadata (main thread; a node view of the
 * cluster). It applies the batches its MetadataStore delivers, in log order, to the image, and
 * turns each into a MetadataDelta: which partitions appeared or changed (leader, replicas,
 * epoch, a reassignment's adding and removing replicas), which topics went, which configs
 * changed. Listeners (the PartitionManager) start, stop or reconfigure this node's actors from
 * the delta before the next batch is applied. A snapshot replaces the image; its delta is the
 * difference between the old image and the new.
 *
 * Listeners are called synchronously right after the image changes, so routing (which reads the
 * image) and the actors a listener spawns change in the same turn.
 */
import { addingReplicasOf, MetadataImage, removingReplicasOf, type PartitionImage, type TopicImage } from './metadata-image.js';
import type { ConfigResourceType, MetadataRecord } from './metadata-records.js';
import type { MetadataBatch } from './metadata-store.js';

export interface PartitionChange {
  readonly topic: TopicImage;
  /** Undefined for a new partition. */
  readonly before: PartitionImage | undefined;
  readonly after: PartitionImage;
}

export interface MetadataDelta {
  readonly partitions: readonly PartitionChange[];
  readonly deletedTopics: readonly TopicImage[];
  readonly configs: readonly { readonly resourceType: ConfigResourceType; readonly resourceName: string }[];
}

export type DeltaListener = (delta: MetadataDelta) => Promise<void>;

interface OffsetWaiter {
  readonly offset: number;
  readonly resolve: () => void;
}

export class ClusterMetadata {
  readonly image = new MetadataImage();
  private end = 0;
  private readonly listeners: DeltaListener[] = [];
  private waiters: OffsetWaiter[] = [];

  /** The offset after the last record applied (Kafka's metadata offset + 1). */
  get appliedEnd(): number {
    return this.end;
  }

  onDelta(listener: DeltaListener): void {
    this.listeners.push(listener);
  }

  /** Applies a batch and waits for every listener; a batch wholly below the applied end is skipped. */
  async apply(b: MetadataBatch): Promise<void> {
    let delta: MetadataDelta;
    if (b.kind === 'snapshot') {
      if (b.offset <= this.end) return;
      const next = new MetadataImage();
      for (const r of b.records) next.apply(r);
      delta = diffImages(this.image, next);
      this.image.replaceWith(next);
      this.end = b.offset;
    } else {
      if (b.offset + b.records.length <= this.end) return;
      if (b.offset > this.end) throw new Error(`metadata log: records at offset ${b.offset}, but the image is applied to ${this.end}`);
      delta = this.applyRecords(b.records.slice(this.end - b.offset));
      this.end = b.offset + b.records.length;
    }
    const work = this.listeners.map((l) => l(delta));
    this.wake();
    await Promise.all(work);
  }

  /** Resolves once the image has applied every offset below `offset`, or rejects after `timeoutMs`. */
  waitFor(offset: number, timeoutMs: number): Promise<void> {
    if (this.end >= offset) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`metadata not applied to offset ${offset} within ${timeoutMs} ms (applied to ${this.end})`));
      }, timeoutMs);
      const waiter: OffsetWaiter = {
        offset,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      this.waiters.push(waiter);
    });
  }

  private wake(): void {
    const ready = this.waiters.filter((w) => w.offset <= this.end);
    if (ready.length === 0) return;
    this.waiters = this.waiters.filter((w) => w.offset > this.end);
    for (const w of ready) w.resolve();
  }

  private applyRecords(records: readonly MetadataRecord[]): MetadataDelta {
    const partitions = new Map<string, PartitionChange>();
    const deletedTopics: TopicImage[] = [];
    const configs = new Map<string, { resourceType: ConfigResourceType; resourceName: string }>();
    for (const r of records) {
      if (r.type === 'Partition') {
        const topic = this.image.topicsById.get(r.topicId);
        const key = `${r.topicId}:${r.partition}`;
        const before = partitions.get(key)?.before ?? topic?.partitions[r.partition];
        this.image.apply(r);
        if (topic) partitions.set(key, { topic, before, after: topic.partitions[r.partition]! });
        continue;
      }
      if (r.type === 'RemoveTopic') {
        const topic = this.image.topicsById.get(r.topicId);
        if (topic) {
          deletedTopics.push(topic);
          for (const key of [...partitions.keys()]) if (key.startsWith(`${r.topicId}:`)) partitions.delete(key);
        }
      }
      if (r.type === 'Config') configs.set(`${r.resourceType}:${r.resourceName}`, { resourceType: r.resourceType, resourceName: r.resourceName });
      this.image.apply(r);
    }
    return { partitions: [...partitions.values()], deletedTopics, configs: [...configs.values()] };
  }
}

/** What changed from one image to the next, as if the records between them had been applied. */
export function diffImages(before: MetadataImage, after: MetadataImage): MetadataDelta {
  const deletedTopics = [...before.topicsById.values()].filter((t) => !after.topicsById.has(t.topicId));
  const partitions: PartitionChange[] = [];
  const configs: { resourceType: ConfigResourceType; resourceName: string }[] = [];
  for (const t of after.topicsById.values()) {
    const old = before.topicsById.get(t.topicId);
    for (const p of t.partitions) {
      const was = old?.partitions[p.partition];
      if (!was || !samePartition(was, p)) partitions.push({ topic: t, before: was, after: p });
    }
    if (old && !sameMap(old.configs, t.configs)) configs.push({ resourceType: 'topic', resourceName: t.name });
  }
  const brokerResources = new Set([...before.brokerConfigs.keys(), ...after.brokerConfigs.keys()]);
  for (const name of brokerResources) {
    if (!sameMap(before.brokerConfigs.get(name) ?? new Map(), after.brokerConfigs.get(name) ?? new Map())) configs.push({ resourceType: 'broker', resourceName: name });
  }
  return { partitions, deletedTopics, configs };
}

function samePartition(a: PartitionImage, b: PartitionImage): boolean {
  return (
    a.leader === b.leader &&
    a.leaderEpoch === b.leaderEpoch &&
    a.partitionEpoch === b.partitionEpoch &&
    sameList(a.replicas, b.replicas) &&
    sameList(a.isr, b.isr) &&
    sameList(addingReplicasOf(a), addingReplicasOf(b)) &&
    sameList(removingReplicasOf(a), removingReplicasOf(b))
  );
}

function sameList(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function sameMap(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): boolean {
  return a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);
}
