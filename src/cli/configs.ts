/**
 * `brook configs describe|alter` for a topic (--topic), one broker (--broker <id>) or the
 * cluster-wide broker defaults (--broker-defaults), as kafka-configs.sh: describe prints the
 * dynamic configs (every config with --all); alter applies --add-config k=v,... and
 * --delete-config k,... as one IncrementalAlterConfigs, so keys not named keep their values.
 */
import type { Command } from 'commander';
import type { ConfigResourceType } from '../client/index.js';
import { collect, CONFIG_SOURCES, out, UsageError, withAdmin, withBootstrap, type BootstrapOptions } from './options.js';

interface ResourceOptions extends BootstrapOptions {
  topic?: string;
  broker?: string;
  brokerDefaults?: boolean;
}

interface Resource {
  type: ConfigResourceType;
  name: string;
  /** "topic events", "broker 0" or "brokers in the cluster" (defaults), for messages. */
  label: string;
  /** The config source that counts as dynamic for this resource. */
  dynamicSource: number;
}

export function registerConfigs(program: Command): void {
  const configs = program.command('configs').description('describe and alter topic and broker configs');

  resourceOptions(withBootstrap(configs.command('describe')))
    .description("print a topic's or a broker's dynamic configs (every config with --all)")
    .option('--all', 'every config, with its source, not only the dynamic ones')
    .action(async (opts: ResourceOptions & { all?: boolean }) => {
      const r = resourceOf(opts);
      const [result] = await withAdmin(opts, (admin) => admin.describeConfigs({ resources: [{ type: r.type, name: r.name }] }));
      const entries = (result?.configs ?? []).filter((c) => opts.all || c.source === r.dynamicSource).sort((a, b) => a.name.localeCompare(b.name));
      const title = opts.all
        ? `All configs for ${r.label} are:`
        : r.type === 'broker' && r.name === ''
          ? 'Default configs for brokers in the cluster are:'
          : `Dynamic configs for ${r.label} are:`;
      const lines = entries.map(
        (c) =>
          `  ${c.name}=${c.isSensitive ? 'null' : (c.value ?? 'null')} sensitive=${c.isSensitive} source=${CONFIG_SOURCES[c.source] ?? c.source}${c.readOnly ? ' readOnly=true' : ''}`,
      );
      out(`${[title, ...lines].join('\n')}\n`);
    });

  resourceOptions(withBootstrap(configs.command('alter')))
    .description('set and delete dynamic configs of a topic or a broker')
    .option('--add-config <k=v,...>', 'configs to set: k1=v1,k2=[a,b] (brackets hold a list value); repeatable', collect)
    .option('--delete-config <k,...>', 'configs to remove (back to their defaults); repeatable', collect)
    .action(async (opts: ResourceOptions & { addConfig?: string[]; deleteConfig?: string[] }) => {
      const r = resourceOf(opts);
      const set = (opts.addConfig ?? []).flatMap(parseAddConfig);
      const del = (opts.deleteConfig ?? [])
        .flatMap((d) => d.split(','))
        .map((k) => k.trim())
        .filter((k) => k !== '');
      if (set.length === 0 && del.length === 0) throw new UsageError('nothing to alter: give --add-config and/or --delete-config');
      const both = set.map(([k]) => k).filter((k) => del.includes(k));
      if (both.length > 0) throw new UsageError(`${both.join(', ')}: both added and deleted`);
      await withAdmin(opts, (admin) =>
        admin.incrementalAlterConfigs({
          resources: [
            { type: r.type, name: r.name, ops: [...set.map(([name, value]) => ({ name, op: 'set' as const, value })), ...del.map((name) => ({ name, op: 'delete' as const }))] },
          ],
        }),
      );
      out(r.type === 'broker' && r.name === '' ? 'Completed updating default config for brokers in the cluster.\n' : `Completed updating config for ${r.label}.\n`);
    });
}

function resourceOptions(cmd: Command): Command {
  return cmd.option('--topic <name>', 'a topic').option('--broker <id>', 'one broker, by node id').option('--broker-defaults', 'the defaults of every broker in the cluster');
}

function resourceOf(opts: ResourceOptions): Resource {
  const given = [opts.topic !== undefined, opts.broker !== undefined, opts.brokerDefaults === true].filter(Boolean).length;
  if (given !== 1) throw new UsageError('give exactly one of --topic, --broker or --broker-defaults');
  if (opts.topic !== undefined) return { type: 'topic', name: opts.topic, label: `topic ${opts.topic}`, dynamicSource: 1 };
  if (opts.broker !== undefined) {
    if (!/^\d+$/.test(opts.broker)) throw new UsageError(`--broker expects a node id (an integer), got '${opts.broker}'`);
    return { type: 'broker', name: opts.broker, label: `broker ${opts.broker}`, dynamicSource: 2 };
  }
  return { type: 'broker', name: '', label: 'brokers in the cluster', dynamicSource: 3 };
}

/** `k1=v1,k2=[a,b]`: commas inside brackets belong to the value, as in kafka-configs.sh. */
export function parseAddConfig(raw: string): [string, string][] {
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of raw) {
    if (ch === '[') depth++;
    if (ch === ']') depth = Math.max(0, depth - 1);
    if (ch === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else {
      cur += ch;
    }
  }
  parts.push(cur);
  return parts
    .filter((p) => p.trim() !== '')
    .map((p) => {
      const eq = p.indexOf('=');
      if (eq <= 0) throw new UsageError(`--add-config expects k=v[,k=v...], got '${p}'`);
      const value = p.slice(eq + 1).trim();
      return [p.slice(0, eq).trim(), /^\[.*\]$/.test(value) ? value.slice(1, -1) : value];
    });
}
