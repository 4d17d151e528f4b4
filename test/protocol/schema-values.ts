// Deterministic values for any message schema at any version, written independently of the codec
// (defaults re-derived here from Kafka's rules) so round trips check the codec against the schema.
import { inVersionRange, type FieldSpec, type MessageSpec, type PrimitiveType } from '../../src/protocol/index.js';

/** 'full': every field set to a non-default value, arrays of two; 'sparse': nulls where allowed, empty arrays, tagged fields at their defaults. */
export type ValueStyle = 'full' | 'sparse';

const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

export function defaultValue(f: FieldSpec): unknown {
  if (f.default !== undefined) return f.default;
  switch (f.type) {
    case 'bool':
      return false;
    case 'string':
      return '';
    case 'uuid':
      return ZERO_UUID;
    case 'bytes':
      return Buffer.alloc(0);
    case 'records':
      return null;
    case 'array':
      return [];
    case 'struct':
      return defaultStruct(f.fields ?? []);
    default:
      return 0;
  }
}

function defaultStruct(fields: readonly FieldSpec[]): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const f of fields) o[f.name] = defaultValue(f);
  return o;
}

class Counter {
  n = 0;
  next(): number {
    return ++this.n;
  }
}

function primitive(type: PrimitiveType, c: Counter): unknown {
  const k = c.next();
  switch (type) {
    case 'int8':
      return (k % 200) - 100 || 7;
    case 'int16':
      return -1000 - k;
    case 'uint16':
      return 60000 + k;
    case 'int32':
      return -100000 - k;
    case 'uint32':
      return 4000000000 + k;
    case 'int64':
      return -(2 ** 40) - k * 3;
    case 'float64':
      return k + 0.25;
    case 'bool':
      return true;
    case 'string':
      return `s${k}-é✓`;
    case 'uuid':
      return `${k.toString(16).padStart(8, '0')}-0000-4000-8000-00000000abcd`;
    case 'bytes':
    case 'records':
      return Buffer.from([k & 0xff, 1, 2, 3, 0xff]);
  }
}

function fieldValue(f: FieldSpec, version: number, style: ValueStyle, c: Counter, tagged: boolean): unknown {
  if (!inVersionRange(f.versions, version)) return defaultValue(f);
  const nullable = inVersionRange(f.nullableVersions, version);
  if (style === 'sparse') {
    if (tagged) return defaultValue(f);
    if (nullable) return null;
  }
  if (f.type === 'struct') return structValue(f.fields ?? [], version, style, c);
  if (f.type === 'array') {
    const count = style === 'full' ? 2 : 0;
    const out: unknown[] = [];
    for (let i = 0; i < count; i++) {
      out.push(f.items === 'struct' ? structValue(f.fields ?? [], version, style, c) : primitive(f.items as PrimitiveType, c));
    }
    return out;
  }
  return primitive(f.type, c);
}

function structValue(fields: readonly FieldSpec[], version: number, style: ValueStyle, c: Counter): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const f of fields) {
    const tagged = f.tag !== undefined && inVersionRange(f.taggedVersions, version);
    o[f.name] = fieldValue(f, version, style, c, tagged);
  }
  return o;
}

/** A value of the message at this version; fields the version lacks hold their defaults. */
export function messageValue(spec: MessageSpec, version: number, style: ValueStyle): Record<string, unknown> {
  return structValue(spec.fields, version, style, new Counter());
}
