/**
 * Every bound the protocol layer enforces, in one place. Decoding never allocates more than the
 * frame it was given: each declared length or count is checked against the bytes that remain
 * before anything is allocated, using the smallest encoding an element can have.
 */

/** An unsigned 32-bit varint takes at most 5 bytes; a sixth continuation byte is malformed. */
export const VARINT_BYTES_MAX = 5;

/** A 64-bit varlong takes at most 10 bytes. */
export const VARLONG_BYTES_MAX = 10;

/** Each tagged field needs at least a 1-byte tag and a 1-byte size, so N fields need 2N bytes. */
export const TAGGED_FIELD_BYTES_MIN = 2;

/** Every array element is charged at least one byte, even a struct with no fields in a version. */
export const ARRAY_ELEMENT_BYTES_MIN = 1;

/** Bytes of the big-endian int32 size prefix in front of every request and response. */
export const FRAME_SIZE_PREFIX_BYTES = 4;
