/**
 * `brook groups`: list, describe (offsets and lag, --members, --state), delete and reset-offsets,
 * with kafka-consumer-groups.sh's options, columns and messages.
 */
import type { Command } from 'commander';
import type { Admin, GroupDescription } from '../client/index.js';
import { collect, formatTable, out, UsageError, withAdmin, withBootstrap, type BootstrapOptions } from './options.js';
import { registerResetOffsets } from './groups-reset.js';

interface DescribeOptions extends BootstrapOptions {
  group?: string[];
  allGroups?: boolean;
  members?: boolean;
  state?: boolean;
  verbose?: boolean;
}

export function registerGroups(program: Command): void {
  const groups = program.command('groups').description('list, describe, delete consumer groups and reset their offsets');

  withBootstrap(groups.command('list'))
    .description('list consumer groups')
    .option('--state', "also print each group's state")
    .action(async (opts: BootstrapOptions & { state?: boolean }) => {
      const list = await withAdmin(opts, (admin) => admin.listGroups());
      if (opts.state)
        out(
          formatTable(
            ['GROUP', 'STATE'],
            list.map((g) => [g.groupId, g.state]),
          ),
        );
      else out(list.map((g) => `${g.groupId}\n`).join(''));
    });

  withBootstrap(groups.command('describe'))
    .description('describe groups: committed offsets, log end offsets and lag per partition, with the owning member')
    .argument('[group]', 'group id (or --group)')
    .option('--group <id>', 'group id; repeat for more', collect)
    .option('--all-groups', 'describe every group')
    .option('--members', 'list the members: GROUP CONSUMER-ID HOST CLIENT-ID #PARTITIONS')
    .option('--state', "the group's state: GROUP COORDINATOR (ID) ASSIGNMENT-STRATEGY STATE #MEMBERS")
    .option('--verbose', "with --members, also print each member's assignment")
    .action(async (positional: string | undefined, opts: DescribeOptions) => {
      if (opts.members && opts.state) throw new UsageError('--members and --state cannot be used together');
      await withAdmin(opts, async (admin) => {
        const ids = await groupIds(admin, positional, opts);
        const blocks: string[] = [];
        for (const id of ids) blocks.push(await describeOne(admin, id, opts));
        out(blocks.join('\n'));
      });
    });

  withBootstrap(groups.command('delete'))
    .description('delete groups that have no active members, with their committed offsets')
    .argument('[group]', 'group id (or --group)')
    .option('--group <id>', 'group id; repeat for more', collect)
    .option('--all-groups', 'delete every group')
    .action(async (positional: string | undefined, opts: BootstrapOptions & { group?: string[]; allGroups?: boolean }) => {
      await withAdmin(opts, async (admin) => {
        const ids = await groupIds(admin, positional, opts);
        await admin.deleteGroups(ids);
        out(`Deletion of requested consumer groups (${ids.map((g) => `'${g}'`).join(', ')}) was successful.\n`);
      });
    });

  registerResetOffsets(groups);
}

/** Group ids from the positional argument, --group and --all-groups; at least one is required. */
async function groupIds(admin: Admin, positional: string | undefined, opts: { group?: string[]; allGroups?: boolean }): Promise<string[]> {
  const named = [...(positional === undefined ? [] : [positional]), ...(opts.group ?? [])];
  if (opts.allGroups && named.length > 0) throw new UsageError('--all-groups cannot be used with a named group');
  if (opts.allGroups) return (await admin.listGroups()).map((g) => g.groupId);
  if (named.length === 0) throw new UsageError('a group is required: give it as an argument, with --group, or use --all-groups');
  return [...new Set(named)];
}

async function describeOne(admin: Admin, groupId: string, opts: DescribeOptions): Promise<string> {
  const [desc] = await admin.describeGroups([groupId]);
  if (desc === undefined || desc.state === 'Dead') throw new Error(`Consumer group '${groupId}' does not exist.`);
  if (opts.state) return describeState(admin, desc);
  if (opts.members) return describeMembers(desc, opts.verbose ?? false);
  return describeOffsets(admin, desc);
}

async function describeState(admin: Admin, desc: GroupDescription): Promise<string> {
  const id = await admin.cluster.findCoordinator(desc.groupId);
  const b = admin.cluster.broker(id);
  const coordinator = b === undefined ? `(${id})` : `${b.host}:${b.port} (${id})`;
  return formatTable(
    ['GROUP', 'COORDINATOR (ID)', 'ASSIGNMENT-STRATEGY', 'STATE', '#MEMBERS'],
    [[desc.groupId, coordinator, desc.protocol, desc.state, String(desc.members.length)]],
  );
}

function describeMembers(desc: GroupDescription, verbose: boolean): string {
  const header = ['GROUP', 'CONSUMER-ID', 'HOST', 'CLIENT-ID', '#PARTITIONS', ...(verbose ? ['ASSIGNMENT'] : [])];
  const rows = desc.members.map((m) => {
    const byTopic = new Map<string, number[]>();
    for (const a of m.assignment) byTopic.set(a.topic, [...(byTopic.get(a.topic) ?? []), a.partition]);
    const assignment = [...byTopic]
      .sort()
      .map(([t, ps]) => `${t}(${ps.sort((x, y) => x - y).join(',')})`)
      .join(', ');
    return [desc.groupId, m.memberId, m.clientHost, m.clientId, String(m.assignment.length), ...(verbose ? [assignment || '-'] : [])];
  });
  // As kafka-consumer-groups.sh: a group without members prints only that.
  if (rows.length === 0) return `Consumer group '${desc.groupId}' has no active members.\n`;
  return formatTable(header, rows);
}

/** The default describe: one row per partition the group has offsets for or is assigned. */
async function describeOffsets(admin: Admin, desc: GroupDescription): Promise<string> {
  const committed = await admin.fetchOffsets({ groupId: desc.groupId });
  const owner = new Map<string, { memberId: string; clientHost: string; clientId: string }>();
  for (const m of desc.members) for (const a of m.assignment) owner.set(`${a.topic}\u0000${a.partition}`, m);
  const current = new Map<string, number>();
  for (const c of committed) if (c.offset >= 0) current.set(`${c.topic}\u0000${c.partition}`, c.offset);
  const keys = [...new Set([...current.keys(), ...owner.keys()])];
  const topics = [...new Set(keys.map((k) => k.split('\u0000')[0]!))].sort();
  const logEnd = new Map<string, number>();
  for (const topic of topics) {
    const offsets = await admin.listOffsets({ topic, at: 'latest' }).catch(() => []);
    for (const o of offsets) logEnd.set(`${topic}\u0000${o.partition}`, o.offset);
  }
  const rows = keys
    .map((k) => {
      const [topic, p] = k.split('\u0000') as [string, string];
      return { k, topic, partition: Number(p) };
    })
    .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition)
    .map(({ k, topic, partition }) => {
      const cur = current.get(k);
      const end = logEnd.get(k);
      const m = owner.get(k);
      const lag = cur !== undefined && end !== undefined ? String(Math.max(0, end - cur)) : '-';
      return [
        desc.groupId,
        topic,
        String(partition),
        cur === undefined ? '-' : String(cur),
        end === undefined ? '-' : String(end),
        lag,
        m?.memberId ?? '-',
        m?.clientHost ?? '-',
        m?.clientId ?? '-',
      ];
    });
  const prefix = desc.members.length === 0 ? `Consumer group '${desc.groupId}' has no active members.\n` : '';
  return prefix + formatTable(['GROUP', 'TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'LOG-END-OFFSET', 'LAG', 'CONSUMER-ID', 'HOST', 'CLIENT-ID'], rows);
}
