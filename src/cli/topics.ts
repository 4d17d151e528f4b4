/**
 * `brook topics`: create, list, describe, alter (partitions) and delete topics, with
 * kafka-topics.sh's options and its describe layout (a Topic header line, then one
 * Partition/Leader/Replicas/Isr line per partition). As kafka-topics.sh, `describe
 * --under-replicated-partitions`, `--unavailable-partitions`, `--under-min-isr-partitions` and
 * `--at-min-isr-partitions` print only the partition lines that match (any of them, when several
 * are given), no header, and with no topic named look at every topic, internal ones included.
 */
import type { Command } from 'commander';
import type { Admin, ConfigEntry, PartitionInfo, TopicInfo } from '../client/index.js';
import { collect, intParser, keyValue, out, topicOf, withAdmin, withBootstrap, type BootstrapOptions } from './options.js';

interface TopicOptions extends BootstrapOptions {
  topic?: string;
}

export function registerTopics(program: Command): void {
  const topics = program.command('topics').description('create, list, describe, alter and delete topics');

  withBootstrap(topics.command('create'))
    .description('create a topic')
    .argument('[topic]', 'topic name (or --topic)')
    .option('--topic <name>', 'topic name')
    .option('--partitions <count>', "partitions (default: the broker's num.partitions)", intParser(1, 100_000))
    .option('--replication-factor <count>', "replicas per partition (default: the broker's default.replication.factor)", intParser(1, 32))
    .option('--config <key=value>', 'a topic config; repeat for more', collect)
    .option('--if-not-exists', 'succeed if the topic exists already')
    .action(async (positional: string | undefined, opts: TopicOptions & { partitions?: number; replicationFactor?: number; config?: string[]; ifNotExists?: boolean }) => {
      const name = topicOf(positional, opts.topic);
      const configs = Object.fromEntries((opts.config ?? []).map((c) => keyValue('--config', c)));
      await withAdmin(opts, async (admin) => {
        if (opts.ifNotExists && (await admin.listTopics({ includeInternal: true })).includes(name)) {
          out(`Topic ${name} already exists.\n`);
          return;
        }
        await admin.createTopics({ topics: [{ name, numPartitions: opts.partitions, replicationFactor: opts.replicationFactor, configs }], ifNotExists: opts.ifNotExists });
        out(`Created topic ${name}.\n`);
      });
    });

  withBootstrap(topics.command('list'))
    .description('list topic names')
    .option('--include-internal', 'also list internal topics (__consumer_offsets)')
    .action(async (opts: BootstrapOptions & { includeInternal?: boolean }) => {
      const names = await withAdmin(opts, (admin) => admin.listTopics({ includeInternal: opts.includeInternal }));
      out(names.map((n) => `${n}\n`).join(''));
    });

  withBootstrap(topics.command('describe'))
    .description('describe topics: id, partitions, leaders, replicas, ISR and configs (every topic when none is named)')
    .argument('[topic]', 'topic name (or --topic)')
    .option('--topic <name>', 'topic name')
    .option('--all-configs', 'list every config in the header, not only those that differ from the defaults')
    .option('--include-internal', 'with no topic named, also describe internal topics')
    .option('--under-replicated-partitions', 'only the partitions whose ISR is smaller than their replica set (no header lines; internal topics included)')
    .option('--unavailable-partitions', 'only the partitions whose leader is none or not a live broker (no header lines; internal topics included)')
    .option('--under-min-isr-partitions', "only the partitions without a leader or whose ISR is below the topic's min.insync.replicas (acks=all fails there)")
    .option('--at-min-isr-partitions', "only the partitions whose ISR is exactly the topic's min.insync.replicas (one more loss stops acks=all)")
    .action(async (positional: string | undefined, opts: TopicOptions & { allConfigs?: boolean; includeInternal?: boolean } & HealthFlags) => {
      const want: HealthFilter = {
        underReplicated: opts.underReplicatedPartitions ?? false,
        unavailable: opts.unavailablePartitions ?? false,
        underMinIsr: opts.underMinIsrPartitions ?? false,
        atMinIsr: opts.atMinIsrPartitions ?? false,
      };
      const filtered = Object.values(want).some(Boolean);
      await withAdmin(opts, async (admin) => {
        const names =
          positional === undefined && opts.topic === undefined ? await admin.listTopics({ includeInternal: filtered || opts.includeInternal }) : [topicOf(positional, opts.topic)];
        if (names.length === 0) return;
        if (!filtered) {
          out(await describeTopics(admin, names, opts.allConfigs ?? false));
          return;
        }
        out(await describeUnhealthy(admin, names.sort(), want));
      });
    });

  withBootstrap(topics.command('alter'))
    .description("raise a topic's partition count")
    .argument('[topic]', 'topic name (or --topic)')
    .option('--topic <name>', 'topic name')
    .requiredOption('--partitions <count>', 'the new partition count (partitions can only be added)', intParser(1, 100_000))
    .action(async (positional: string | undefined, opts: TopicOptions & { partitions: number }) => {
      const name = topicOf(positional, opts.topic);
      await withAdmin(opts, (admin) => admin.createPartitions({ topics: [{ name, count: opts.partitions }] }));
      out(`Topic ${name} now has ${opts.partitions} partitions.\n`);
    });

  withBootstrap(topics.command('delete'))
    .description('delete a topic and its data')
    .argument('[topic]', 'topic name (or --topic)')
    .option('--topic <name>', 'topic name')
    .option('--if-exists', 'succeed if the topic does not exist')
    .action(async (positional: string | undefined, opts: TopicOptions & { ifExists?: boolean }) => {
      const name = topicOf(positional, opts.topic);
      await withAdmin(opts, async (admin) => {
        if (opts.ifExists && !(await admin.listTopics({ includeInternal: true })).includes(name)) {
          out(`Topic ${name} does not exist.\n`);
          return;
        }
        await admin.deleteTopics({ topics: [name] });
        out(`Deleted topic ${name}.\n`);
      });
    });
}

/** kafka-topics.sh --describe's layout: tab-separated `Key: value` fields. */
export async function describeTopics(admin: Admin, names: string[], allConfigs: boolean): Promise<string> {
  const infos = await admin.describeTopics(names);
  const configs = await admin.describeConfigs({ resources: names.map((name) => ({ type: 'topic' as const, name })) });
  const lines: string[] = [];
  infos.forEach((info, i) => lines.push(...describeTopic(info, configs[i]?.configs ?? [], allConfigs)));
  return `${lines.join('\n')}\n`;
}

function describeTopic(info: TopicInfo, configs: ConfigEntry[], allConfigs: boolean): string[] {
  const shown = configs.filter((c) => allConfigs || !c.isDefault).map((c) => `${c.name}=${c.isSensitive ? '(sensitive)' : (c.value ?? '')}`);
  const rf = info.partitions[0]?.replicas.length ?? 0;
  const header = `Topic: ${info.name}\tTopicId: ${info.topicId}\tPartitionCount: ${info.partitions.length}\tReplicationFactor: ${rf}\tConfigs: ${shown.join(',')}`;
  const parts = [...info.partitions].sort((a, b) => a.partition - b.partition).map((p) => partitionLine(info.name, p));
  return [header, ...parts];
}

function partitionLine(topic: string, p: PartitionInfo): string {
  return `\tTopic: ${topic}\tPartition: ${p.partition}\tLeader: ${p.leader < 0 ? 'none' : p.leader}\tReplicas: ${p.replicas.join(',')}\tIsr: ${p.isr.join(',')}`;
}

interface HealthFlags {
  underReplicatedPartitions?: boolean;
  unavailablePartitions?: boolean;
  underMinIsrPartitions?: boolean;
  atMinIsrPartitions?: boolean;
}

/** Which partitions `describe` prints under its filter flags. */
export interface HealthFilter {
  underReplicated: boolean;
  unavailable: boolean;
  underMinIsr: boolean;
  atMinIsr: boolean;
}

export type PartitionHealth = HealthFilter;

/**
 * A partition's health as kafka-topics.sh's TopicCommand decides it: under-replicated (ISR
 * smaller than its replicas), unavailable (no leader, or its leader not a live broker), under
 * min ISR (no leader, or ISR below the topic's min.insync.replicas), at min ISR (ISR exactly
 * min.insync.replicas).
 */
export function partitionHealth(p: Pick<PartitionInfo, 'leader' | 'replicas' | 'isr'>, liveBrokers: ReadonlySet<number>, minIsr = 1): PartitionHealth {
  return {
    underReplicated: p.isr.length < p.replicas.length,
    unavailable: p.leader < 0 || !liveBrokers.has(p.leader),
    underMinIsr: p.leader < 0 || p.isr.length < minIsr,
    atMinIsr: p.isr.length === minIsr,
  };
}

/** The partition lines of `names` that match any flag of `want`; no header lines. */
export async function describeUnhealthy(admin: Admin, names: string[], want: HealthFilter): Promise<string> {
  const infos = await admin.describeTopics(names);
  const live = new Set((await admin.describeCluster()).brokers.map((b) => b.nodeId));
  const minIsr = new Map<string, number>();
  if (want.underMinIsr || want.atMinIsr) {
    const configs = await admin.describeConfigs({ resources: names.map((name) => ({ type: 'topic' as const, name })) });
    configs.forEach((c, i) => minIsr.set(names[i]!, Number(c.configs.find((e) => e.name === 'min.insync.replicas')?.value ?? 1) || 1));
  }
  const lines: string[] = [];
  for (const info of infos) {
    for (const p of [...info.partitions].sort((a, b) => a.partition - b.partition)) {
      const h = partitionHealth(p, live, minIsr.get(info.name) ?? 1);
      if ((Object.keys(want) as (keyof HealthFilter)[]).some((k) => want[k] && h[k])) lines.push(partitionLine(info.name, p));
    }
  }
  return lines.map((l) => `${l}\n`).join('');
}
