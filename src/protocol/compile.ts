import { NullFieldError, ProtocolError } from './errors.js';
import { Reader } from './reader.js';
import { inVersionRange, type FieldSpec, type MessageSpec, type PrimitiveType } from './schema.js';
import { bytesSize, compactBytesSize, compactStringSize, stringSize, uvarintSize, Writer } from './writer.js';

/** Encoder and decoder of one message at one version, compiled from its schema. */
export interface CompiledCodec {
  decode(r: Reader): unknown;
  /** Exact encoded size of a value; undefined fields count as their defaults. */
  size(value: unknown): number;
  write(w: Writer, value: unknown): void;
}

/** Shared zero-length default for bytes fields; zero-length, so sharing it cannot leak data. */
const EMPTY = Buffer.alloc(0);
const ZERO_UUID = '00000000-0000-0000-0000-000000000000';
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

const FIXED_SIZE: Partial<Record<PrimitiveType, number>> = {
  int8: 1,
  bool: 1,
  int16: 2,
  uint16: 2,
  int32: 4,
  uint32: 4,
  int64: 8,
  float64: 8,
  uuid: 16,
};
const READ_FIXED: Partial<Record<PrimitiveType, string>> = {
  int8: 'r.readInt8()',
  bool: 'r.readBool()',
  int16: 'r.readInt16()',
  uint16: 'r.readUint16()',
  int32: 'r.readInt32()',
  uint32: 'r.readUint32()',
  int64: 'r.readInt64()',
  float64: 'r.readFloat64()',
  uuid: 'r.readUuid()',
};
const WRITE_FIXED: Partial<Record<PrimitiveType, string>> = {
  int8: 'writeInt8',
  bool: 'writeBool',
  int16: 'writeInt16',
  uint16: 'writeUint16',
  int32: 'writeInt32',
  uint32: 'writeUint32',
  int64: 'writeInt64',
  float64: 'writeFloat64',
  uuid: 'writeUuid',
};

/** Field types whose encoding has a null form; a null in a non-nullable one is a caller bug. */
const NULLABLE_KINDS = new Set(['string', 'bytes', 'records', 'array', 'struct']);

function nullError(field: string): never {
  throw new NullFieldError(field);
}

const HELPERS = { uvarintSize, stringSize, compactStringSize, bytesSize, compactBytesSize, nullError };

/** How one field is encoded at the version being compiled. */
interface FieldPlan {
  readonly field: FieldSpec;
  readonly nullable: boolean;
  readonly flexible: boolean;
}

/**
 * Compiles a message schema at one version into specialised JavaScript source, evaluated once with
 * `new Function`. This avoids interpreting the schema per message (a loop over field descriptors
 * with a switch per field and objects built by dynamic property stores, which V8 keeps megamorphic
 * and in dictionary mode); the generated decoders build each struct as one object literal, so all
 * values of a struct share one hidden class. The cost is a few milliseconds of compilation per
 * (message, version) on first use, and generated code that is read through this compiler rather
 * than in the source. Only schema identifiers reach the generated source, and they are checked.
 */
class Compiler {
  private readonly fns: string[] = [];
  private nextId = 0;
  private readonly structIds = new Map<readonly FieldSpec[], number>();
  private readonly defaultIds = new Map<readonly FieldSpec[], number>();

  constructor(
    private readonly version: number,
    private readonly flexible: boolean,
  ) {}

  compile(spec: MessageSpec): CompiledCodec {
    const root = this.struct(spec.fields);
    const src = [
      'const { uvarintSize, stringSize, compactStringSize, bytesSize, compactBytesSize, nullError } = H;',
      ...this.fns,
      `return { decode: d${root}, size: s${root}, write: w${root} };`,
    ].join('\n');
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- on purpose: the codec is compiled from the message spec into straight-line code, once per message version.
    const make = new Function('H', 'ProtocolError', 'EMPTY', src) as (h: typeof HELPERS, e: typeof ProtocolError, empty: Buffer) => CompiledCodec;
    return make(HELPERS, ProtocolError, EMPTY);
  }

  private plan(f: FieldSpec): FieldPlan {
    if (!IDENTIFIER.test(f.name)) throw new Error(`bad field name ${f.name}`);
    const v = this.version;
    const flexible = f.flexibleVersions !== undefined ? inVersionRange(f.flexibleVersions, v) : this.flexible;
    return { field: f, nullable: inVersionRange(f.nullableVersions, v), flexible };
  }

  private isTagged(f: FieldSpec): boolean {
    return this.flexible && f.tag !== undefined && inVersionRange(f.taggedVersions, this.version);
  }

  private present(f: FieldSpec): boolean {
    return inVersionRange(f.versions, this.version);
  }

  /** Compiles decode/size/write/isDefault functions for a struct; returns their numeric suffix. */
  private struct(fields: readonly FieldSpec[]): number {
    const known = this.structIds.get(fields);
    if (known !== undefined) return known;
    const id = this.nextId++;
    this.structIds.set(fields, id);
    const regular = fields.filter((f) => this.present(f) && !this.isTagged(f)).map((f) => this.plan(f));
    const tagged = fields
      .filter((f) => this.present(f) && this.isTagged(f))
      .map((f) => this.plan(f))
      .sort((a, b) => (a.field.tag as number) - (b.field.tag as number));
    this.emitDecode(id, fields, tagged);
    this.emitSize(id, regular, tagged);
    this.emitWrite(id, regular, tagged);
    this.emitIsDefault(id, fields);
    return id;
  }

  private emitDecode(id: number, fields: readonly FieldSpec[], tagged: FieldPlan[]): void {
    const props = fields.map((f) => {
      const expr = this.present(f) && !this.isTagged(f) ? this.readExpr(this.plan(f)) : this.defaultExpr(f);
      return `    ${f.name}: ${expr},`;
    });
    let body = `  const o = {\n${props.join('\n')}\n  };\n`;
    if (this.flexible) {
      const cases = tagged.map((p) => `        case ${p.field.tag}: o.${p.field.name} = ${this.readExpr({ ...p, flexible: true })}; break;`);
      body +=
        '  const nt = r.readTaggedFieldCount();\n' +
        '  for (let i = 0; i < nt; i++) {\n' +
        '    const tag = r.readUVarint();\n' +
        '    const size = r.readUVarint();\n' +
        '    r.need(size);\n' +
        '    const end = r.offset + size;\n' +
        (cases.length > 0 ? `    switch (tag) {\n${cases.join('\n')}\n        default: r.offset = end; continue;\n    }\n` : '    r.offset = end; continue;\n') +
        "    if (r.offset !== end) throw new ProtocolError('tagged field ' + tag + ' size ' + size + ' does not match its contents');\n" +
        '  }\n';
    }
    this.fns.push(`function d${id}(r) {\n${body}  return o;\n}`);
  }

  private emitSize(id: number, regular: FieldPlan[], tagged: FieldPlan[]): void {
    let fixed = 0;
    const lines: string[] = [];
    for (const p of regular) {
      const f = p.field;
      const c = f.type !== 'array' && f.type !== 'struct' ? FIXED_SIZE[f.type] : undefined;
      if (c !== undefined) fixed += c;
      else lines.push(`  v = o.${f.name}; if (v === undefined) v = ${this.defaultExpr(f)}; n += ${this.sizeExpr(p, 'v')};`);
    }
    if (this.flexible) {
      lines.push('  let nt = 0;');
      for (const p of tagged) {
        const f = p.field;
        const fp = { ...p, flexible: true };
        lines.push(
          `  v = o.${f.name}; if (v !== undefined && !(${this.isDefaultExpr(f, 'v')})) { nt++; const fs = ${this.sizeExpr(fp, 'v')}; n += uvarintSize(${f.tag}) + uvarintSize(fs) + fs; }`,
        );
      }
      lines.push('  n += uvarintSize(nt);');
    }
    this.fns.push(`function s${id}(o) {\n  let n = ${fixed};\n  let v;\n${lines.join('\n')}\n  return n;\n}`);
  }

  private emitWrite(id: number, regular: FieldPlan[], tagged: FieldPlan[]): void {
    const lines: string[] = ['  let v;'];
    for (const p of regular) {
      lines.push(`  v = o.${p.field.name}; if (v === undefined) v = ${this.defaultExpr(p.field)};`);
      lines.push(`  ${this.writeStmt(p, 'v')}`);
    }
    if (this.flexible) {
      lines.push('  let nt = 0;');
      tagged.forEach((p, i) => {
        lines.push(`  const t${i} = o.${p.field.name}; const h${i} = t${i} !== undefined && !(${this.isDefaultExpr(p.field, `t${i}`)}); if (h${i}) nt++;`);
      });
      lines.push('  w.writeUVarint(nt);');
      tagged.forEach((p, i) => {
        const fp = { ...p, flexible: true };
        lines.push(`  if (h${i}) { w.writeUVarint(${p.field.tag}); w.writeUVarint(${this.sizeExpr(fp, `t${i}`)}); ${this.writeStmt(fp, `t${i}`)} }`);
      });
    }
    this.fns.push(`function w${id}(w, o) {\n${lines.join('\n')}\n}`);
  }

  /** z<id>(o): whether a struct value equals the struct's default (decides if a tagged struct is written). */
  private emitIsDefault(id: number, fields: readonly FieldSpec[]): void {
    const terms = fields.filter((f) => this.present(f)).map((f) => `(o.${f.name} === undefined || ${this.isDefaultExpr(f, `o.${f.name}`)})`);
    this.fns.push(`function z${id}(o) {\n  return ${terms.length > 0 ? terms.join(' &&\n    ') : 'true'};\n}`);
  }

  /** f<id>(): a fresh default value of a struct, with every field of every version. */
  private defaultStruct(fields: readonly FieldSpec[]): number {
    const known = this.defaultIds.get(fields);
    if (known !== undefined) return known;
    const id = this.nextId++;
    this.defaultIds.set(fields, id);
    const props = fields.map((f) => `${f.name}: ${this.defaultExpr(f)}`);
    this.fns.push(`function f${id}() {\n  return { ${props.join(', ')} };\n}`);
    return id;
  }

  private defaultExpr(f: FieldSpec): string {
    if (f.default !== undefined) return JSON.stringify(f.default);
    switch (f.type) {
      case 'bool':
        return 'false';
      case 'string':
        return "''";
      case 'uuid':
        return `'${ZERO_UUID}'`;
      case 'bytes':
        return 'EMPTY';
      case 'records':
        return 'null';
      case 'array':
        return '[]';
      case 'struct':
        return `f${this.defaultStruct(f.fields ?? [])}()`;
      default:
        return '0';
    }
  }

  private isDefaultExpr(f: FieldSpec, v: string): string {
    if (f.default === null) return `${v} === null`;
    if (f.default !== undefined) return `${v} === ${JSON.stringify(f.default)}`;
    switch (f.type) {
      case 'bytes':
      case 'array':
        return `(${v} !== null && ${v}.length === 0)`;
      case 'records':
        return `${v} === null`;
      case 'struct':
        return `(${v} !== null && z${this.struct(f.fields ?? [])}(${v}))`;
      default:
        return `${v} === ${this.defaultExpr(f)}`;
    }
  }

  // ---- Per-type expressions ----

  private readExpr(p: FieldPlan): string {
    const f = p.field;
    if (f.type === 'array') return `${this.arrayReader(p)}(r)`;
    if (f.type === 'struct') {
      const id = this.struct(f.fields ?? []);
      return p.nullable ? `(r.readInt8() < 0 ? null : d${id}(r))` : `d${id}(r)`;
    }
    return this.readPrimitive(f.type, p.nullable, p.flexible);
  }

  private readPrimitive(type: PrimitiveType, nullable: boolean, flexible: boolean): string {
    const fixed = READ_FIXED[type];
    if (fixed !== undefined) return fixed;
    const kind = type === 'string' ? 'String' : 'Bytes';
    return `r.read${flexible ? 'Compact' : ''}${nullable ? 'Nullable' : ''}${kind}()`;
  }

  /** Smallest encoding of one array element, so counts can be checked before allocating. */
  private elementBytesMin(p: FieldPlan): number {
    const items = p.field.items as PrimitiveType | 'struct';
    if (items === 'struct') return this.structBytesMin(p.field.fields ?? []);
    return this.primitiveBytesMin(items, p.flexible);
  }

  private primitiveBytesMin(type: PrimitiveType, flexible: boolean): number {
    const fixed = FIXED_SIZE[type];
    if (fixed !== undefined) return fixed;
    if (flexible) return 1;
    return type === 'string' ? 2 : 4;
  }

  private structBytesMin(fields: readonly FieldSpec[]): number {
    let n = this.flexible ? 1 : 0;
    for (const f of fields) {
      if (!this.present(f) || this.isTagged(f)) continue;
      const p = this.plan(f);
      if (p.nullable) n += this.nullMin(p);
      else if (f.type === 'struct') n += this.structBytesMin(f.fields ?? []);
      else if (f.type === 'array') n += p.flexible ? 1 : 4;
      else n += this.primitiveBytesMin(f.type, p.flexible);
    }
    return n;
  }

  /** Bytes of a null of this field's type (an int16/int32 length, a varint 0, an int8 marker). */
  private nullMin(p: FieldPlan): number {
    const t = p.field.type;
    if (t === 'array' || t === 'bytes' || t === 'records') return p.flexible ? 1 : 4;
    if (t === 'string') return p.flexible ? 1 : 2;
    return FIXED_SIZE[t as PrimitiveType] ?? 1;
  }

  private arrayReader(p: FieldPlan): string {
    const id = this.nextId++;
    const items = p.field.items as PrimitiveType | 'struct';
    const elem = items === 'struct' ? `d${this.struct(p.field.fields ?? [])}(r)` : this.readPrimitive(items, false, p.flexible);
    const count = `r.read${p.flexible ? 'Compact' : ''}ArrayLength(${this.elementBytesMin(p)})`;
    const onNull = p.nullable ? 'return null;' : `throw new ProtocolError('null in non-nullable array ${p.field.name}');`;
    this.fns.push(
      `function a${id}(r) {\n  const n = ${count};\n  if (n < 0) ${onNull}\n  const out = new Array(n);\n  for (let i = 0; i < n; i++) out[i] = ${elem};\n  return out;\n}`,
    );
    return `a${id}`;
  }

  private sizeExpr(p: FieldPlan, v: string): string {
    const f = p.field;
    if (f.type === 'array') return `${this.arraySizer(p)}(${v})`;
    if (f.type === 'struct') {
      const id = this.struct(f.fields ?? []);
      return p.nullable ? `(${v} === null ? 1 : 1 + s${id}(${v}))` : `s${id}(${v})`;
    }
    return this.primitiveSizeExpr(f.type, p.flexible, v);
  }

  private primitiveSizeExpr(type: PrimitiveType, flexible: boolean, v: string): string {
    const fixed = FIXED_SIZE[type];
    if (fixed !== undefined) return String(fixed);
    if (type === 'string') return flexible ? `compactStringSize(${v})` : `stringSize(${v})`;
    return flexible ? `compactBytesSize(${v})` : `bytesSize(${v})`;
  }

  private arraySizer(p: FieldPlan): string {
    const id = this.nextId++;
    const items = p.field.items as PrimitiveType | 'struct';
    const header = p.flexible ? 'uvarintSize(a.length + 1)' : '4';
    const fixed = items === 'struct' ? undefined : FIXED_SIZE[items];
    let loop: string;
    if (fixed !== undefined) loop = `  n += a.length * ${fixed};`;
    else {
      const elem = items === 'struct' ? `s${this.struct(p.field.fields ?? [])}(a[i])` : this.primitiveSizeExpr(items, p.flexible, 'a[i]');
      loop = `  for (let i = 0; i < a.length; i++) n += ${elem};`;
    }
    this.fns.push(`function as${id}(a) {\n  if (a === null) return ${p.flexible ? 1 : 4};\n  let n = ${header};\n${loop}\n  return n;\n}`);
    return `as${id}`;
  }

  private writeStmt(p: FieldPlan, v: string): string {
    const f = p.field;
    const guard = !p.nullable && NULLABLE_KINDS.has(f.type) ? `if (${v} === null) nullError('${f.name}'); ` : '';
    if (f.type === 'array') return `${guard}${this.arrayWriter(p)}(w, ${v});`;
    if (f.type === 'struct') {
      const id = this.struct(f.fields ?? []);
      return p.nullable ? `if (${v} === null) w.writeInt8(-1); else { w.writeInt8(1); w${id}(w, ${v}); }` : `${guard}w${id}(w, ${v});`;
    }
    return `${guard}${this.primitiveWriteStmt(f.type, p.nullable, p.flexible, v)}`;
  }

  private primitiveWriteStmt(type: PrimitiveType, nullable: boolean, flexible: boolean, v: string): string {
    const fixed = WRITE_FIXED[type];
    if (fixed !== undefined) return `w.${fixed}(${v});`;
    const kind = type === 'string' ? 'String' : 'Bytes';
    return `w.write${flexible ? 'Compact' : ''}${nullable ? 'Nullable' : ''}${kind}(${v});`;
  }

  private arrayWriter(p: FieldPlan): string {
    const id = this.nextId++;
    const items = p.field.items as PrimitiveType | 'struct';
    const elem = items === 'struct' ? `w${this.struct(p.field.fields ?? [])}(w, a[i]);` : this.primitiveWriteStmt(items, false, p.flexible, 'a[i]');
    const writeNull = p.flexible ? 'w.writeUVarint(0)' : 'w.writeInt32(-1)';
    const header = p.flexible ? 'w.writeUVarint(a.length + 1)' : 'w.writeInt32(a.length)';
    this.fns.push(`function aw${id}(w, a) {\n  if (a === null) { ${writeNull}; return; }\n  ${header};\n  for (let i = 0; i < a.length; i++) ${elem}\n}`);
    return `aw${id}`;
  }
}

const cache = new Map<MessageSpec, (CompiledCodec | undefined)[]>();

/**
 * The compiled codec of a message at a version, built on first use and cached for the life of the
 * process (one per message and version actually used, so the cache is bounded by the schema).
 */
export function compiledCodec(spec: MessageSpec, version: number): CompiledCodec {
  let perVersion = cache.get(spec);
  if (perVersion === undefined) {
    perVersion = [];
    cache.set(spec, perVersion);
  }
  let codec = perVersion[version];
  if (codec === undefined) {
    codec = new Compiler(version, inVersionRange(spec.flexibleVersions, version)).compile(spec);
    perVersion[version] = codec;
  }
  return codec;
}
