// The protocol layer's public surface: schemas, generated types, codecs and error codes.
export * from './codec.js';
export * from './errors.js';
export * from './limits.js';
export * from './messages/index.js';
export { Reader } from './reader.js';
export { RecordSet, type Records } from './record-set.js';
export { Writer, uvarintSize } from './writer.js';
export { VERSION_MAX, inVersionRange, type FieldSpec, type FieldType, type MessageSpec, type PrimitiveType, type VersionRange, type DefaultValue } from './schema.js';
