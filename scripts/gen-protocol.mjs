#!/usr/bin/env node
// Generates src/protocol/messages/*.ts (Brook's own schema definitions and TypeScript types) from
// Kafka's JSON message specs. It is a development tool: the build never reads the specs, only the
// generated, committed output.
//
// Usage: node scripts/gen-protocol.mjs [path/to/message-specs]
// The default path is ../shared/reference/kafka/message-specs relative to the repository.

import { readFileSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const specDir = resolve(process.argv[2] ?? join(repoDir, '..', 'shared', 'reference', 'kafka', 'message-specs'));
const outDir = join(repoDir, 'src', 'protocol', 'messages');

// The APIs Brook speaks, by api key. Names are Kafka's, without the Request/Response suffix.
const API_NAMES = [
  [0, 'Produce'],
  [1, 'Fetch'],
  [2, 'ListOffsets'],
  [3, 'Metadata'],
  [8, 'OffsetCommit'],
  [9, 'OffsetFetch'],
  [10, 'FindCoordinator'],
  [11, 'JoinGroup'],
  [12, 'Heartbeat'],
  [13, 'LeaveGroup'],
  [14, 'SyncGroup'],
  [15, 'DescribeGroups'],
  [16, 'ListGroups'],
  [17, 'SaslHandshake'],
  [18, 'ApiVersions'],
  [19, 'CreateTopics'],
  [20, 'DeleteTopics'],
  [21, 'DeleteRecords'],
  [22, 'InitProducerId'],
  [23, 'OffsetForLeaderEpoch'],
  [24, 'AddPartitionsToTxn'],
  [25, 'AddOffsetsToTxn'],
  [26, 'EndTxn'],
  [28, 'TxnOffsetCommit'],
  [32, 'DescribeConfigs'],
  [33, 'AlterConfigs'],
  [35, 'DescribeLogDirs'],
  [36, 'SaslAuthenticate'],
  [37, 'CreatePartitions'],
  [42, 'DeleteGroups'],
  [43, 'ElectLeaders'],
  [44, 'IncrementalAlterConfigs'],
  [45, 'AlterPartitionReassignments'],
  [46, 'ListPartitionReassignments'],
  [47, 'OffsetDelete'],
  [56, 'AlterPartition'],
  [60, 'DescribeCluster'],
  [61, 'DescribeProducers'],
  [65, 'DescribeTransactions'],
  [66, 'ListTransactions'],
  [67, 'AllocateProducerIds'],
];
// Versioned data structures that travel inside other messages' bytes fields.
const DATA_NAMES = ['ConsumerProtocolSubscription', 'ConsumerProtocolAssignment'];

const VERSION_MAX = 0x7fff;
const PRIMITIVES = new Set(['int8', 'int16', 'int32', 'int64', 'uint16', 'uint32', 'float64', 'bool', 'string', 'bytes', 'records', 'uuid']);

/** Removes // comments that are outside string literals, so the specs parse as JSON. */
function stripComments(text) {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      out += c;
      if (c === '\\') {
        out += text[++i];
        continue;
      }
      if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else {
      out += c;
    }
  }
  return out;
}

function readSpec(name) {
  return JSON.parse(stripComments(readFileSync(join(specDir, `${name}.json`), 'utf8')));
}

/** Parses Kafka's version range syntax ("0+", "3-5", "7", "none") into [min, max] or null. */
function parseVersions(text) {
  if (text === undefined || text === 'none') return null;
  const s = String(text).trim();
  if (s.endsWith('+')) return [Number(s.slice(0, -1)), VERSION_MAX];
  const dash = s.indexOf('-');
  if (dash > 0) return [Number(s.slice(0, dash)), Number(s.slice(dash + 1))];
  return [Number(s), Number(s)];
}

const camel = (name) => name[0].toLowerCase() + name.slice(1);
const kebab = (name) => name.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
const rangeText = (r) => (r === null ? 'null' : `[${r[0]}, ${r[1] === VERSION_MAX ? 'MAX' : r[1]}]`);

/** Converts a spec default (always a string or literal in the JSON) to a typed value. */
function parseDefault(field, baseType, isArray) {
  const d = field.default;
  if (d === undefined) return undefined;
  if (d === 'null' || d === null) return null;
  if (isArray || !PRIMITIVES.has(baseType)) throw new Error(`unsupported default ${d} for ${field.name}`);
  switch (baseType) {
    case 'bool':
      return d === true || d === 'true';
    case 'string':
      return String(d);
    case 'int8':
    case 'int16':
    case 'int32':
    case 'int64':
    case 'uint16':
    case 'uint32':
    case 'float64': {
      const n = Number(d);
      if (!Number.isFinite(n)) throw new Error(`bad numeric default ${d} for ${field.name}`);
      return n;
    }
    default:
      throw new Error(`unsupported default ${d} for ${field.name} (${baseType})`);
  }
}

/**
 * Normalises one spec field into Brook's form. Struct types without inline fields are resolved
 * against the message's commonStructs and inlined, so the runtime never looks structs up by name.
 */
function normaliseField(field, common) {
  let type = field.type;
  const isArray = type.startsWith('[]');
  const base = isArray ? type.slice(2) : type;
  const out = { name: camel(field.name), versions: parseVersions(field.versions) };
  if (out.versions === null) throw new Error(`field ${field.name} has no versions`);
  if (PRIMITIVES.has(base)) {
    if (isArray) {
      out.type = 'array';
      out.items = base;
    } else out.type = base;
  } else {
    out.type = isArray ? 'array' : 'struct';
    if (isArray) out.items = 'struct';
    out.structName = base;
    const fields = field.fields ?? common.get(base);
    if (fields === undefined) throw new Error(`unknown struct ${base}`);
    out.fields = fields.map((f) => normaliseField(f, common));
  }
  const nullable = parseVersions(field.nullableVersions);
  if (nullable !== null) out.nullableVersions = nullable;
  if (field.tag !== undefined) {
    out.tag = field.tag;
    out.taggedVersions = parseVersions(field.taggedVersions);
  }
  if (field.flexibleVersions !== undefined) out.flexibleVersions = parseVersions(field.flexibleVersions);
  const dflt = parseDefault(field, base, isArray);
  if (dflt !== undefined) out.default = dflt;
  return out;
}

function normaliseMessage(spec) {
  const common = new Map((spec.commonStructs ?? []).map((s) => [s.name, s.fields]));
  const msg = {
    name: spec.name,
    validVersions: parseVersions(spec.validVersions),
    flexibleVersions: parseVersions(spec.flexibleVersions),
    fields: spec.fields.map((f) => normaliseField(f, common)),
  };
  if (spec.apiKey !== undefined) msg.apiKey = spec.apiKey;
  if (spec.deprecatedVersions !== undefined) msg.deprecatedVersions = parseVersions(spec.deprecatedVersions);
  if (spec.latestVersionUnstable === true) msg.latestVersionUnstable = true;
  return msg;
}

// ---- Emitting the schema literal ----------------------------------------------------------

function emitField(f, indent) {
  const parts = [`name: '${f.name}'`, `type: '${f.type}'`];
  if (f.items !== undefined) parts.push(`items: '${f.items}'`);
  parts.push(`versions: ${rangeText(f.versions)}`);
  if (f.nullableVersions !== undefined) parts.push(`nullableVersions: ${rangeText(f.nullableVersions)}`);
  if (f.tag !== undefined) parts.push(`tag: ${f.tag}`, `taggedVersions: ${rangeText(f.taggedVersions)}`);
  if (f.flexibleVersions !== undefined) parts.push(`flexibleVersions: ${rangeText(f.flexibleVersions)}`);
  if (f.default !== undefined) parts.push(`default: ${JSON.stringify(f.default)}`);
  if (f.structName !== undefined) parts.push(`structName: '${f.structName}'`);
  if (f.fields === undefined) return `${indent}{ ${parts.join(', ')} },`;
  const inner = f.fields.map((g) => emitField(g, indent + '  ')).join('\n');
  return `${indent}{ ${parts.join(', ')}, fields: [\n${inner}\n${indent}] },`;
}

function emitSpec(constName, msg) {
  const head = [`name: '${msg.name}'`];
  if (msg.apiKey !== undefined) head.push(`apiKey: ${msg.apiKey}`);
  head.push(`validVersions: ${rangeText(msg.validVersions)}`, `flexibleVersions: ${rangeText(msg.flexibleVersions)}`);
  if (msg.deprecatedVersions !== undefined) head.push(`deprecatedVersions: ${rangeText(msg.deprecatedVersions)}`);
  if (msg.latestVersionUnstable) head.push('latestVersionUnstable: true');
  const fields = msg.fields.map((f) => emitField(f, '    ')).join('\n');
  return `export const ${constName}: MessageSpec = {\n  ${head.join(', ')},\n  fields: [\n${fields}\n  ],\n};\n`;
}

// ---- Emitting TypeScript types ---------------------------------------------------------------

const NUMERIC = new Set(['int8', 'int16', 'int32', 'int64', 'uint16', 'uint32', 'float64']);

function primitiveTs(t) {
  if (NUMERIC.has(t)) return 'number';
  if (t === 'bool') return 'boolean';
  if (t === 'string' || t === 'uuid') return 'string';
  return 'Buffer'; // bytes, records
}

const covers = (range, valid) => range !== null && range[0] <= valid[0] && range[1] >= valid[1];

/**
 * A field may be omitted from an encoder's input when the encoder can fill it in without losing
 * meaning: it has an explicit default, it is tagged, or some valid version lacks it anyway.
 */
function optionalInInput(f, valid) {
  return f.default !== undefined || f.tag !== undefined || !covers(f.versions, valid);
}

function fieldTs(f, typeName, suffix) {
  let t;
  if (f.type === 'array') t = f.items === 'struct' ? `${typeName}${suffix}.${f.structName}[]` : `${primitiveTs(f.items)}[]`;
  else if (f.type === 'struct') t = `${typeName}${suffix}.${f.structName}`;
  else if (f.type === 'records' && suffix === 'Input')
    t = 'Records'; // a Buffer or a RecordSet (src/protocol/record-set.ts)
  else t = primitiveTs(f.type);
  return f.nullableVersions !== undefined ? `${t} | null` : t;
}

function emitInterfaceBody(fields, typeName, suffix, valid, indent) {
  return fields
    .map((f) => {
      const opt = suffix === 'Input' && optionalInInput(f, valid) ? '?' : '';
      return `${indent}${f.name}${opt}: ${fieldTs(f, typeName, suffix)};`;
    })
    .join('\n');
}

/**
 * Collects every nested struct with the version range it can appear in (its field's versions
 * narrowed by its parents'), which decides which of its fields an encoder input may omit.
 */
function collectStructs(fields, parentRange, into) {
  for (const f of fields) {
    if (f.fields === undefined) continue;
    const range = [Math.max(parentRange[0], f.versions[0]), Math.min(parentRange[1], f.versions[1])];
    const seen = into.get(f.structName);
    if (seen !== undefined && JSON.stringify(seen.fields) !== JSON.stringify(f.fields)) {
      throw new Error(`struct ${f.structName} is defined twice with different fields`);
    }
    if (seen === undefined) into.set(f.structName, { fields: f.fields, range });
    collectStructs(f.fields, range, into);
  }
  return into;
}

function emitTypes(msg, typeName) {
  const structs = collectStructs(msg.fields, msg.validVersions, new Map());
  const valid = msg.validVersions;
  let out = '';
  for (const suffix of ['', 'Input']) {
    const doc =
      suffix === ''
        ? `/** ${msg.name} as decoded: every field of every version is present (absent ones hold their default). */`
        : `/** ${msg.name} as accepted by the encoder: defaulted, tagged and version-dependent fields may be omitted. */`;
    out += `${doc}\nexport interface ${typeName}${suffix} {\n${emitInterfaceBody(msg.fields, typeName, suffix, valid, '  ')}\n}\n`;
    if (structs.size > 0) {
      out += `export declare namespace ${typeName}${suffix} {\n`;
      for (const [name, { fields, range }] of structs) {
        out += `  interface ${name} {\n${emitInterfaceBody(fields, typeName, suffix, range, '    ')}\n  }\n`;
      }
      out += '}\n';
    }
  }
  return out;
}

// ---- Header versions ---------------------------------------------------------------------------

const inRange = (r, v) => r !== null && v >= r[0] && v <= r[1];

function headerVersions(apiKey, req, res) {
  const versions = [];
  for (let v = 0; v <= req.validVersions[1]; v++) {
    // ApiVersions responses always use response header v0: a client that does not yet know the
    // broker's versions must be able to read the correlation id without knowing about tagged fields.
    const responseHeader = apiKey === 18 ? 0 : inRange(res.flexibleVersions, v) ? 1 : 0;
    versions.push([inRange(req.flexibleVersions, v) ? 2 : 1, responseHeader]);
  }
  return versions;
}

/** Whether a message has a `records` field at any depth. */
function hasRecords(msg) {
  const walk = (fields) => fields.some((f) => f.type === 'records' || (f.fields !== undefined && walk(f.fields)));
  return walk(msg.fields);
}

// ---- Main ----------------------------------------------------------------------------------------

const HEADER = "// Generated by scripts/gen-protocol.mjs from Kafka's message specs. Do not edit by hand.\n";

function main() {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const index = [];
  for (const [apiKey, name] of API_NAMES) {
    const req = normaliseMessage(readSpec(`${name}Request`));
    const res = normaliseMessage(readSpec(`${name}Response`));
    if (req.apiKey !== apiKey || res.apiKey !== apiKey) throw new Error(`${name}: api key mismatch`);
    if (JSON.stringify(req.validVersions) !== JSON.stringify(res.validVersions)) {
      throw new Error(`${name}: request and response valid versions differ`);
    }
    const file = kebab(name);
    const src =
      HEADER +
      "import { VERSION_MAX as MAX, type MessageSpec } from '../schema.js';\n" +
      (hasRecords(req) || hasRecords(res) ? "import type { Records } from '../record-set.js';\n" : '') +
      '\n' +
      emitSpec(`${camel(name)}RequestSpec`, req) +
      '\n' +
      emitSpec(`${camel(name)}ResponseSpec`, res) +
      '\n' +
      emitTypes(req, `${name}Request`) +
      '\n' +
      emitTypes(res, `${name}Response`);
    writeFileSync(join(outDir, `${file}.ts`), src);
    index.push({ apiKey, name, file, headers: headerVersions(apiKey, req, res), valid: req.validVersions });
  }
  let data = HEADER + "import { VERSION_MAX as MAX, type MessageSpec } from '../schema.js';\n\n";
  for (const name of DATA_NAMES) {
    const msg = normaliseMessage(readSpec(name));
    data += emitSpec(`${camel(name)}Spec`, msg) + '\n' + emitTypes(msg, name) + '\n';
  }
  writeFileSync(join(outDir, 'consumer-protocol.ts'), data.trimEnd() + '\n');
  writeFileSync(join(outDir, 'index.ts'), emitIndex(index));
  console.log(`wrote ${index.length} APIs and ${DATA_NAMES.length} data structures to ${outDir}`);
}

function emitIndex(index) {
  let s = HEADER + "import type { MessageSpec } from '../schema.js';\n";
  for (const a of index) {
    s += `import { ${camel(a.name)}RequestSpec, ${camel(a.name)}ResponseSpec, type ${a.name}Request, type ${a.name}RequestInput, type ${a.name}Response, type ${a.name}ResponseInput } from './${a.file}.js';\n`;
  }
  s += "\nexport * from './consumer-protocol.js';\n";
  for (const a of index) s += `export * from './${a.file}.js';\n`;
  s += '\n/** Api keys by Kafka name. */\nexport const ApiKeys = {\n';
  for (const a of index) s += `  ${a.name}: ${a.apiKey},\n`;
  s += '} as const;\nexport type ApiKey = (typeof ApiKeys)[keyof typeof ApiKeys];\n\n';
  s += '/** Kafka api names by api key. */\nexport const API_NAMES: Readonly<Record<ApiKey, string>> = {\n';
  for (const a of index) s += `  ${a.apiKey}: '${a.name}',\n`;
  s += '};\n\n';
  s +=
    'export interface ApiSpec {\n  readonly apiKey: ApiKey;\n  readonly name: string;\n  readonly request: MessageSpec;\n  readonly response: MessageSpec;\n' +
    '  /** Header versions indexed by api version: [requestHeaderVersion, responseHeaderVersion]. */\n' +
    '  readonly headerVersions: readonly (readonly [number, number])[];\n}\n\n';
  s += '/** Every api Brook speaks, by api key. */\nexport const API_SPECS: Readonly<Record<ApiKey, ApiSpec>> = {\n';
  for (const a of index) {
    const hv = a.headers.map(([q, r]) => `[${q}, ${r}]`).join(', ');
    s += `  ${a.apiKey}: { apiKey: ${a.apiKey}, name: '${a.name}', request: ${camel(a.name)}RequestSpec, response: ${camel(a.name)}ResponseSpec, headerVersions: [${hv}] },\n`;
  }
  s += '};\n\n';
  for (const [map, suffix] of [
    ['RequestBodies', 'Request'],
    ['RequestInputs', 'RequestInput'],
    ['ResponseBodies', 'Response'],
    ['ResponseInputs', 'ResponseInput'],
  ]) {
    s += `export interface ${map} {\n`;
    for (const a of index) s += `  ${a.apiKey}: ${a.name}${suffix};\n`;
    s += '}\n';
  }
  return s;
}

main();
