/**
 * Brook's form of a Kafka message definition. The generated files under messages/ are values of
 * these types; the codec compiles them into encoders and decoders. Plain data, shared freely
 * between threads.
 */

/** Open upper bound of a version range ("3+" is [3, VERSION_MAX]). Api versions are int16. */
export const VERSION_MAX = 0x7fff;

/** Inclusive [min, max] version range. */
export type VersionRange = readonly [number, number];

export type PrimitiveType = 'int8' | 'int16' | 'int32' | 'int64' | 'uint16' | 'uint32' | 'float64' | 'bool' | 'string' | 'bytes' | 'records' | 'uuid';

export type FieldType = PrimitiveType | 'array' | 'struct';

/** A typed default; null only for fields that are nullable in the versions that use it. */
export type DefaultValue = number | boolean | string | null;

export interface FieldSpec {
  /** camelCase name, the property name in decoded values. */
  readonly name: string;
  readonly type: FieldType;
  /** Element type of an array field. */
  readonly items?: PrimitiveType | 'struct';
  readonly versions: VersionRange;
  readonly nullableVersions?: VersionRange;
  /** Tagged fields travel in the struct's tagged-field section, in taggedVersions, under this tag. */
  readonly tag?: number;
  readonly taggedVersions?: VersionRange | null;
  /** Overrides the message's flexible versions for this field (null: never compact). */
  readonly flexibleVersions?: VersionRange | null;
  /** Explicit default; when absent the type's zero value applies (see defaultFor in codec.ts). */
  readonly default?: DefaultValue;
  /** Kafka's name of the struct type, for a struct field or an array of structs. */
  readonly structName?: string;
  readonly fields?: readonly FieldSpec[];
}

export interface MessageSpec {
  readonly name: string;
  readonly apiKey?: number;
  readonly validVersions: VersionRange;
  /** null means no version is flexible. */
  readonly flexibleVersions: VersionRange | null;
  readonly deprecatedVersions?: VersionRange;
  /** The highest valid version is still being designed upstream; brokers do not advertise it by default. */
  readonly latestVersionUnstable?: true;
  readonly fields: readonly FieldSpec[];
}

export function inVersionRange(range: VersionRange | null | undefined, version: number): boolean {
  return range !== null && range !== undefined && version >= range[0] && version <= range[1];
}
