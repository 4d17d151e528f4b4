/**
 * Partition assignors for the classic consumer group protocol, run by the group leader. Each is
 * a pure function from the members' subscriptions (and, for the sticky one, what each member
 * owns now) and the partition counts of the subscribed topics to an assignment per member.
 * Names match Kafka's, so Brook consumers share a group with Java consumers using the same one.
 *
 * - range: per topic, consecutive partition ranges to the members subscribed to it, sorted by
 *   member id; the first (partitions % members) members get one extra (Java's RangeAssignor).
 * - roundrobin: every subscribed partition, sorted by topic and partition, dealt round-robin to
 *   the members sorted by id, skipping members not subscribed to that topic.
 * - cooperative-sticky: a balanced assignment that keeps as many partitions as possible where
 *   they are, and never hands a partition to a new owner in the same round its old owner still
 *   holds it (KIP-429): the old owner revokes it, rejoins, and the next round moves it.
 */
import type { TopicPartition } from './offsets.js';

export interface MemberSubscription {
  memberId: string;
  topics: string[];
  ownedPartitions: TopicPartition[];
  generationId: number;
}

export type Assignment = Map<string, TopicPartition[]>;

export interface Assignor {
  readonly name: string;
  /** Whether members keep their partitions across a rebalance (cooperative) or give all up first (eager). */
  readonly cooperative: boolean;
  assign(members: MemberSubscription[], partitionsPerTopic: Map<string, number>): Assignment;
}

function emptyAssignment(members: MemberSubscription[]): Assignment {
  return new Map(members.map((m) => [m.memberId, [] as TopicPartition[]]));
}

const byId = (a: MemberSubscription, b: MemberSubscription): number => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0);

export const rangeAssignor: Assignor = {
  name: 'range',
  cooperative: false,
  assign(members, partitionsPerTopic) {
    const out = emptyAssignment(members);
    const topics = [...new Set(members.flatMap((m) => m.topics))].sort();
    for (const topic of topics) {
      const count = partitionsPerTopic.get(topic);
      if (count === undefined) continue;
      const subs = members.filter((m) => m.topics.includes(topic)).sort(byId);
      const per = Math.floor(count / subs.length);
      const extra = count % subs.length;
      subs.forEach((m, i) => {
        const start = per * i + Math.min(i, extra);
        const n = per + (i < extra ? 1 : 0);
        for (let p = start; p < start + n; p++) out.get(m.memberId)!.push({ topic, partition: p });
      });
    }
    return out;
  },
};

export const roundRobinAssignor: Assignor = {
  name: 'roundrobin',
  cooperative: false,
  assign(members, partitionsPerTopic) {
    const out = emptyAssignment(members);
    const sorted = [...members].sort(byId);
    const topics = [...new Set(members.flatMap((m) => m.topics))].filter((t) => partitionsPerTopic.has(t)).sort();
    let next = 0;
    for (const topic of topics) {
      for (let p = 0; p < partitionsPerTopic.get(topic)!; p++) {
        // Deal to the next member subscribed to this topic.
        for (let tries = 0; tries < sorted.length; tries++) {
          const m = sorted[next % sorted.length]!;
          next++;
          if (m.topics.includes(topic)) {
            out.get(m.memberId)!.push({ topic, partition: p });
            break;
          }
        }
      }
    }
    return out;
  },
};

const tpKey = (tp: TopicPartition): string => `${tp.topic}\u0000${tp.partition}`;

export const cooperativeStickyAssignor: Assignor = {
  name: 'cooperative-sticky',
  cooperative: true,
  assign(members, partitionsPerTopic) {
    const sorted = [...members].sort(byId);
    const all: TopicPartition[] = [];
    for (const topic of [...partitionsPerTopic.keys()].sort()) {
      if (!sorted.some((m) => m.topics.includes(topic))) continue;
      for (let p = 0; p < partitionsPerTopic.get(topic)!; p++) all.push({ topic, partition: p });
    }
    // Current owners: a partition claimed by two members goes to the one with the newer generation.
    const owner = new Map<string, { memberId: string; generation: number }>();
    for (const m of sorted) {
      for (const tp of m.ownedPartitions) {
        if (!m.topics.includes(tp.topic) || (partitionsPerTopic.get(tp.topic) ?? 0) <= tp.partition) continue;
        const prev = owner.get(tpKey(tp));
        if (prev === undefined || m.generationId > prev.generation) owner.set(tpKey(tp), { memberId: m.memberId, generation: m.generationId });
      }
    }
    const target = emptyAssignment(sorted);
    const quotaMin = Math.floor(all.length / Math.max(1, sorted.length));
    let extraSlots = all.length - quotaMin * sorted.length;
    // Members keep what they own, up to their quota; the rest is released.
    const unassigned: TopicPartition[] = [];
    const kept = new Map<string, TopicPartition[]>(sorted.map((m) => [m.memberId, []]));
    for (const tp of all) {
      const o = owner.get(tpKey(tp));
      if (o === undefined) unassigned.push(tp);
      else kept.get(o.memberId)!.push(tp);
    }
    for (const m of sorted) {
      const mine = kept.get(m.memberId)!;
      let quota = quotaMin;
      if (mine.length > quotaMin && extraSlots > 0) {
        quota++;
        extraSlots--;
      }
      target.get(m.memberId)!.push(...mine.slice(0, quota));
      unassigned.push(...mine.slice(quota));
    }
    // Released and new partitions go to the least loaded subscribed member.
    for (const tp of unassigned) {
      let best: MemberSubscription | null = null;
      for (const m of sorted) {
        if (!m.topics.includes(tp.topic)) continue;
        if (best === null || target.get(m.memberId)!.length < target.get(best.memberId)!.length) best = m;
      }
      if (best !== null) target.get(best.memberId)!.push(tp);
    }
    // KIP-429: a partition moving between members is left out this round; its owner revokes it first.
    for (const m of sorted) {
      target.set(
        m.memberId,
        target.get(m.memberId)!.filter((tp) => {
          const o = owner.get(tpKey(tp));
          return o === undefined || o.memberId === m.memberId;
        }),
      );
    }
    return target;
  },
};

export const ASSIGNORS: Record<string, Assignor> = {
  range: rangeAssignor,
  roundrobin: roundRobinAssignor,
  'cooperative-sticky': cooperativeStickyAssignor,
};

export type AssignorName = 'range' | 'roundrobin' | 'cooperative-sticky';
