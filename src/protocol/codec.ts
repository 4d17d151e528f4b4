/**
 * Kafka request/response framing over the compiled codecs: the gateway's decodeRequest and
 * encodeResponse, the client side's encodeRequest and decodeResponse, and versioned data structs.
 * Stateless apart from the codec cache; usable on any thread (each thread compiles its own).
 *
 * Value conventions: field names are camelCase; int64 is a JS number (see Reader.readInt64); uuid
 * is the lowercase canonical string; bytes and records are Buffer views of the frame (zero copy,
 * valid while the frame is); null stands for a nullable field's null; fields a version lacks
 * decode as their defaults and are ignored on encode; unknown tagged fields are skipped.
 */
import { compiledCodec } from './compile.js';
import { errorCode, ProtocolError, UnknownApiError, UnsupportedVersionError } from './errors.js';
import { FRAME_SIZE_PREFIX_BYTES } from './limits.js';
import {
  API_SPECS,
  consumerProtocolAssignmentSpec,
  consumerProtocolSubscriptionSpec,
  type ApiKey,
  type ApiSpec,
  type ConsumerProtocolAssignment,
  type ConsumerProtocolAssignmentInput,
  type ConsumerProtocolSubscription,
  type ConsumerProtocolSubscriptionInput,
  type RequestBodies,
  type RequestInputs,
  type ResponseBodies,
  type ResponseInputs,
} from './messages/index.js';
import { Reader } from './reader.js';
import { RecordSet, type Records } from './record-set.js';
import { inVersionRange, type FieldSpec, type MessageSpec } from './schema.js';
import { stringSize, Writer } from './writer.js';

export interface RequestHeader {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  /** Always an int16-length (never compact) string, even in header v2, so any broker can read it. */
  clientId: string | null;
}

/**
 * A decoded request. `apiKey` repeats header.apiKey at the top level because TypeScript narrows a
 * union only on a direct property: `switch (req.apiKey)` types `req.body` for each api.
 */
export type DecodedRequest = {
  [K in ApiKey]: { apiKey: K; header: RequestHeader; body: RequestBodies[K] };
}[ApiKey];

export interface DecodedResponse<K extends ApiKey> {
  correlationId: number;
  body: ResponseBodies[K];
}

const specsByKey = API_SPECS as Partial<Record<number, ApiSpec>>;

/**
 * The api's spec, once apiVersion is known to be in its valid range: its headerVersions hold an
 * entry for every version from 0 to the highest, so `headerVersions[apiVersion]!` below is defined.
 */
function supportedApi(apiKey: number, apiVersion: number, correlationId: number): ApiSpec {
  const api = specsByKey[apiKey];
  if (api === undefined) throw new UnknownApiError(apiKey, apiVersion, correlationId);
  if (!inVersionRange(api.request.validVersions, apiVersion)) {
    throw new UnsupportedVersionError(apiKey, apiVersion, correlationId, null);
  }
  return api;
}

/** Request header version (1 or 2) of an api version: 2 exactly when the api version is flexible. */
export function requestHeaderVersion(apiKey: number, apiVersion: number): number {
  return supportedApi(apiKey, apiVersion, -1).headerVersions[apiVersion]![0];
}

/** Response header version (0 or 1): 1 when flexible, except ApiVersions which always uses 0. */
export function responseHeaderVersion(apiKey: number, apiVersion: number): number {
  return supportedApi(apiKey, apiVersion, -1).headerVersions[apiVersion]![1];
}

/**
 * Decodes a request header from a frame (without its size prefix). With no headerVersion, the
 * version follows from the api key and version, and an api or version Brook does not speak throws
 * UnknownApiError or UnsupportedVersionError (carrying the correlation id and, when readable, the
 * client id); a frame too short for the fixed fields throws ProtocolError.
 */
export function decodeRequestHeader(frame: Buffer, headerVersion?: number): { header: RequestHeader; bodyOffset: number } {
  const r = new Reader(frame);
  const apiKey = r.readInt16();
  const apiVersion = r.readInt16();
  const correlationId = r.readInt32();
  let hv = headerVersion;
  if (hv === undefined) {
    const api = specsByKey[apiKey];
    if (api === undefined) throw new UnknownApiError(apiKey, apiVersion, correlationId);
    if (!inVersionRange(api.request.validVersions, apiVersion)) {
      throw new UnsupportedVersionError(apiKey, apiVersion, correlationId, readClientIdLeniently(r));
    }
    hv = api.headerVersions[apiVersion]![0];
  }
  const clientId = hv >= 1 ? r.readNullableString() : null;
  if (hv >= 2) r.skipTaggedFields();
  return { header: { apiKey, apiVersion, correlationId, clientId }, bodyOffset: r.offset };
}

/** The client id of a request whose version is unknown, or null if it does not parse. */
function readClientIdLeniently(r: Reader): string | null {
  try {
    return r.readNullableString();
  } catch (err) {
    if (err instanceof ProtocolError) return null;
    throw err;
  }
}

/**
 * Decodes a request frame (without its 4-byte size prefix). Throws ProtocolError for malformed
 * bytes, UnknownApiError / UnsupportedVersionError for apis and versions Brook does not speak.
 * Trailing bytes after the body are ignored, as Kafka's broker does. The body's Buffers are views
 * of `frame`: do not reuse the frame's memory while they are in use.
 */
export function decodeRequest(frame: Buffer): DecodedRequest {
  const { header, bodyOffset } = decodeRequestHeader(frame);
  const api = specsByKey[header.apiKey] as ApiSpec;
  const r = new Reader(frame, bodyOffset);
  const body = compiledCodec(api.request, header.apiVersion).decode(r);
  return { apiKey: header.apiKey, header, body } as DecodedRequest;
}

/** Encodes a request header alone (no size prefix); for tests and tools. */
export function encodeRequestHeader(header: RequestHeader, headerVersion: number): Buffer {
  const size = 8 + (headerVersion >= 1 ? stringSize(header.clientId) : 0) + (headerVersion >= 2 ? 1 : 0);
  const w = new Writer(Buffer.allocUnsafe(size));
  writeRequestHeader(w, header, headerVersion);
  return w.buf;
}

function writeRequestHeader(w: Writer, header: RequestHeader, headerVersion: number): void {
  w.writeInt16(header.apiKey);
  w.writeInt16(header.apiVersion);
  w.writeInt32(header.correlationId);
  if (headerVersion >= 1) w.writeNullableString(header.clientId);
  if (headerVersion >= 2) w.writeUVarint(0);
}

/** Encodes a response header alone (no size prefix); for tests and tools. */
export function encodeResponseHeader(correlationId: number, headerVersion: number): Buffer {
  const w = new Writer(Buffer.allocUnsafe(headerVersion >= 1 ? 5 : 4));
  w.writeInt32(correlationId);
  if (headerVersion >= 1) w.writeUVarint(0);
  return w.buf;
}

/** Decodes a response header; returns the correlation id and where the body starts. */
export function decodeResponseHeader(frame: Buffer, headerVersion: number): { correlationId: number; bodyOffset: number } {
  const r = new Reader(frame);
  const correlationId = r.readInt32();
  if (headerVersion >= 1) r.skipTaggedFields();
  return { correlationId, bodyOffset: r.offset };
}

/**
 * Encodes a response, size prefix included, ready to write to the socket. Fields the version
 * lacks are ignored; omitted fields take their defaults. Throws UnsupportedVersionError or
 * UnknownApiError for a version Brook cannot encode (a caller bug), ProtocolError for a null in a
 * non-nullable field.
 */
export function encodeResponse<K extends ApiKey>(apiKey: K, apiVersion: number, correlationId: number, body: ResponseInputs[K]): Buffer {
  return writeResponse(apiKey, apiVersion, correlationId, body, 0).buf;
}

/** Record sets at least this large are written to the socket as they are, not copied into the frame. */
export const GATHER_RECORDS_MIN_BYTES = 16 * 1024;

/**
 * encodeResponse for the gateway: the same bytes, as a list of buffers to write in order. A Fetch
 * response's record sets of GATHER_RECORDS_MIN_BYTES or more are not copied into the frame but
 * stay segments of their own (the buffers the partition's thread transferred), so a large fetch
 * costs neither a frame-sized allocation nor a copy on the main thread. Other responses are one
 * buffer.
 */
export function encodeResponseSegments<K extends ApiKey>(apiKey: K, apiVersion: number, correlationId: number, body: ResponseInputs[K]): Buffer[] {
  const gathered = apiKey === 1 ? fetchRecordsAtLeast(body as ResponseInputs[1], GATHER_RECORDS_MIN_BYTES) : 0;
  return writeResponse(apiKey, apiVersion, correlationId, body, gathered).segments();
}

/**
 * Sizes and writes a response with its size prefix. With `gathered` > 0 the record sets of at
 * least GATHER_RECORDS_MIN_BYTES (which total `gathered` bytes) are kept as segments instead of
 * being copied, and the buffer is allocated without them.
 */
function writeResponse<K extends ApiKey>(apiKey: K, apiVersion: number, correlationId: number, body: ResponseInputs[K], gathered: number): Writer {
  const api = supportedApi(apiKey, apiVersion, correlationId);
  const codec = compiledCodec(api.response, apiVersion);
  const flexibleHeader = api.headerVersions[apiVersion]![1] >= 1;
  const size = 4 + (flexibleHeader ? 1 : 0) + codec.size(body);
  const gatherMin = gathered > 0 ? GATHER_RECORDS_MIN_BYTES : Number.POSITIVE_INFINITY;
  const w = new Writer(Buffer.allocUnsafe(FRAME_SIZE_PREFIX_BYTES + size - gathered), 0, gatherMin);
  w.writeInt32(size);
  w.writeInt32(correlationId);
  if (flexibleHeader) w.writeUVarint(0);
  codec.write(w, body);
  assertFilled(w);
  return w;
}

/** Bytes of a Fetch response's record buffers of at least `min` bytes each. */
function fetchRecordsAtLeast(body: ResponseInputs[1], min: number): number {
  let n = 0;
  for (const t of body.responses ?? []) for (const p of t.partitions ?? []) n += recordsAtLeast(p.records, min);
  return n;
}

/** Bytes of a Produce request's record buffers of at least `min` bytes each. */
function produceRecordsAtLeast(body: RequestInputs[0], min: number): number {
  let n = 0;
  for (const t of body.topicData ?? []) for (const p of t.partitionData ?? []) n += recordsAtLeast(p.records, min);
  return n;
}

/** Bytes of one records field's buffers of at least `min` bytes each (a RecordSet's parts one by one), as Writer.writeRaw gathers them. */
function recordsAtLeast(records: Records | null | undefined, min: number): number {
  if (!records) return 0;
  if (!(records instanceof RecordSet)) return records.length >= min ? records.length : 0;
  let n = 0;
  for (const part of records.parts) if (part.length >= min) n += part.length;
  return n;
}

/**
 * A response whose nulls the version cannot carry, turned into an INVALID_REQUEST answer: each
 * such null becomes its field's empty value (an empty string, bytes or array, a struct of
 * defaults), and the nearest struct holding it that has an `errorCode` in this version gets
 * INVALID_REQUEST (and `message` in its `errorMessage`, when it has one). This is how Kafka
 * answers a request it cannot serve item by item: Metadata v10-11 with a null topic name gets
 * that topic with INVALID_REQUEST and an empty name (MetadataRequest.getErrorResponse). Returns
 * null when some null has no such struct above it, so no answer can say what went wrong; the
 * caller then closes the connection. `body` is not modified.
 */
export function invalidRequestResponse<K extends ApiKey>(apiKey: K, apiVersion: number, body: ResponseInputs[K], message: string): ResponseInputs[K] | null {
  const api = supportedApi(apiKey, apiVersion, -1);
  const repaired = repairNulls(api.response.fields, apiVersion, body as unknown as Record<string, unknown>, message);
  return repaired.unanswered ? null : (repaired.value as unknown as ResponseInputs[K]);
}

const INVALID_REQUEST = errorCode('INVALID_REQUEST');

function emptyOf(f: FieldSpec): unknown {
  switch (f.type) {
    case 'string':
      return '';
    case 'bytes':
    case 'records':
      return Buffer.alloc(0);
    case 'array':
      return [];
    // The encoder takes a missing field as its default, so an empty object is a default struct.
    case 'struct':
      return {};
    default:
      return null;
  }
}

function repairNulls(fields: readonly FieldSpec[], version: number, value: Record<string, unknown>, message: string): { value: Record<string, unknown>; unanswered: boolean } {
  const out = { ...value };
  let unanswered = false;
  for (const f of fields) {
    if (!inVersionRange(f.versions, version)) continue;
    const v = out[f.name];
    if (v === null) {
      const empty = emptyOf(f);
      if (empty !== null && !inVersionRange(f.nullableVersions, version)) {
        out[f.name] = empty;
        unanswered = true;
      }
    } else if (f.type === 'struct' && typeof v === 'object' && v !== undefined) {
      const r = repairNulls(f.fields ?? [], version, v as Record<string, unknown>, message);
      out[f.name] = r.value;
      unanswered ||= r.unanswered;
    } else if (f.type === 'array' && f.items === 'struct' && Array.isArray(v)) {
      out[f.name] = v.map((item: Record<string, unknown>) => {
        const r = repairNulls(f.fields ?? [], version, item, message);
        unanswered ||= r.unanswered;
        return r.value;
      });
    }
  }
  if (unanswered && fields.some((f) => f.name === 'errorCode' && inVersionRange(f.versions, version))) {
    out.errorCode = INVALID_REQUEST;
    if (fields.some((f) => f.name === 'errorMessage' && inVersionRange(f.versions, version))) out.errorMessage = message;
    unanswered = false;
  }
  return { value: out, unanswered };
}

/** Encodes a request, size prefix included (client side, tests, tools). */
export function encodeRequest<K extends ApiKey>(apiKey: K, apiVersion: number, correlationId: number, clientId: string | null, body: RequestInputs[K]): Buffer {
  return writeRequest(apiKey, apiVersion, correlationId, clientId, body, 0).buf;
}

/**
 * encodeRequest for a client: the same bytes, as a list of buffers to write in order. A Produce
 * request's record batches of GATHER_RECORDS_MIN_BYTES or more stay segments of their own (the
 * producer's batch buffers), so a large produce costs neither a frame-sized allocation nor a copy
 * of its batches. Other requests are one buffer.
 */
export function encodeRequestSegments<K extends ApiKey>(apiKey: K, apiVersion: number, correlationId: number, clientId: string | null, body: RequestInputs[K]): Buffer[] {
  const gathered = apiKey === 0 ? produceRecordsAtLeast(body as RequestInputs[0], GATHER_RECORDS_MIN_BYTES) : 0;
  return writeRequest(apiKey, apiVersion, correlationId, clientId, body, gathered).segments();
}

/** Sizes and writes a request with its size prefix; `gathered` as in writeResponse. */
function writeRequest<K extends ApiKey>(apiKey: K, apiVersion: number, correlationId: number, clientId: string | null, body: RequestInputs[K], gathered: number): Writer {
  const api = supportedApi(apiKey, apiVersion, correlationId);
  const codec = compiledCodec(api.request, apiVersion);
  const hv = api.headerVersions[apiVersion]![0];
  const size = 8 + stringSize(clientId) + (hv >= 2 ? 1 : 0) + codec.size(body);
  const gatherMin = gathered > 0 ? GATHER_RECORDS_MIN_BYTES : Number.POSITIVE_INFINITY;
  const w = new Writer(Buffer.allocUnsafe(FRAME_SIZE_PREFIX_BYTES + size - gathered), 0, gatherMin);
  w.writeInt32(size);
  writeRequestHeader(w, { apiKey, apiVersion, correlationId, clientId }, hv);
  codec.write(w, body);
  assertFilled(w);
  return w;
}

/** Decodes a response frame (without its size prefix) of a request this side sent. */
export function decodeResponse<K extends ApiKey>(apiKey: K, apiVersion: number, frame: Buffer): DecodedResponse<K> {
  const api = supportedApi(apiKey, apiVersion, -1);
  const { correlationId, bodyOffset } = decodeResponseHeader(frame, api.headerVersions[apiVersion]![1]);
  const body = compiledCodec(api.response, apiVersion).decode(new Reader(frame, bodyOffset)) as ResponseBodies[K];
  return { correlationId, body };
}

function assertFilled(w: Writer): void {
  if (w.offset !== w.buf.length) throw new Error(`codec bug: sized ${w.buf.length} bytes, wrote ${w.offset}`);
}

function checkStructVersion(spec: MessageSpec, version: number): void {
  if (!inVersionRange(spec.validVersions, version)) throw new ProtocolError(`${spec.name} has no version ${version}`);
}

/** Encodes a versioned data struct (no version prefix, no size prefix). */
export function encodeStruct(spec: MessageSpec, version: number, value: unknown): Buffer {
  checkStructVersion(spec, version);
  const codec = compiledCodec(spec, version);
  const w = new Writer(Buffer.allocUnsafe(codec.size(value)));
  codec.write(w, value);
  assertFilled(w);
  return w.buf;
}

/** Decodes a versioned data struct from a whole buffer (no version prefix). */
export function decodeStruct(spec: MessageSpec, version: number, buf: Buffer): unknown {
  checkStructVersion(spec, version);
  return compiledCodec(spec, version).decode(new Reader(buf));
}

/**
 * Consumer protocol structs travel as an int16 version followed by the struct. A version newer
 * than Brook knows is read with the newest known layout, as Kafka's clients do: newer versions
 * only append fields.
 */
function encodeVersioned(spec: MessageSpec, version: number, value: unknown): Buffer {
  checkStructVersion(spec, version);
  const codec = compiledCodec(spec, version);
  const w = new Writer(Buffer.allocUnsafe(2 + codec.size(value)));
  w.writeInt16(version);
  codec.write(w, value);
  assertFilled(w);
  return w.buf;
}

function decodeVersioned(spec: MessageSpec, buf: Buffer): { version: number; value: unknown } {
  const r = new Reader(buf);
  const version = r.readInt16();
  if (version < spec.validVersions[0]) throw new ProtocolError(`${spec.name} version ${version} is invalid`);
  const layout = Math.min(version, spec.validVersions[1]);
  return { version, value: compiledCodec(spec, layout).decode(r) };
}

export function encodeConsumerProtocolSubscription(version: number, value: ConsumerProtocolSubscriptionInput): Buffer {
  return encodeVersioned(consumerProtocolSubscriptionSpec, version, value);
}

export function decodeConsumerProtocolSubscription(buf: Buffer): { version: number; value: ConsumerProtocolSubscription } {
  return decodeVersioned(consumerProtocolSubscriptionSpec, buf) as { version: number; value: ConsumerProtocolSubscription };
}

export function encodeConsumerProtocolAssignment(version: number, value: ConsumerProtocolAssignmentInput): Buffer {
  return encodeVersioned(consumerProtocolAssignmentSpec, version, value);
}

export function decodeConsumerProtocolAssignment(buf: Buffer): { version: number; value: ConsumerProtocolAssignment } {
  return decodeVersioned(consumerProtocolAssignmentSpec, buf) as { version: number; value: ConsumerProtocolAssignment };
}
