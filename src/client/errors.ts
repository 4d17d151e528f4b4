/**
 * The client's typed errors. Every error a caller sees is a KafkaClientError carrying the Kafka
 * error code (or -1 when the failure is local) and whether retrying may succeed; `type` is the
 * protocol's name for the code. Broker error codes come from the protocol's error table so the
 * retriable flag matches Kafka's own clients.
 */
import { errorName, isRetriable, KAFKA_ERRORS, type KafkaErrorName } from '../protocol/index.js';

export class KafkaClientError extends Error {
  override readonly name: string = 'KafkaClientError';
  readonly type: KafkaErrorName | 'UNKNOWN';
  constructor(
    message: string,
    readonly code: number,
    readonly retriable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.type = errorName(code) ?? 'UNKNOWN';
  }
}

/** A broker's error code in a response, with Kafka's retriable flag for it. */
export class KafkaProtocolError extends KafkaClientError {
  override readonly name: string = 'KafkaProtocolError';
  constructor(code: number, context: string, serverMessage?: string | null) {
    const name = errorName(code) ?? `error ${code}`;
    super(`${context}: ${name}${serverMessage ? ` (${serverMessage})` : ''}`, code, isRetriable(code));
  }
}

/** The connection failed or closed before a response arrived; the request may or may not have been applied. */
export class ConnectionError extends KafkaClientError {
  override readonly name: string = 'ConnectionError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, KAFKA_ERRORS.NETWORK_EXCEPTION.code, true, options);
  }
}

/** A wait ran past its bound: a request, a connect, buffer memory, metadata. */
export class TimeoutError extends KafkaClientError {
  override readonly name: string = 'TimeoutError';
  constructor(message: string) {
    super(message, KAFKA_ERRORS.REQUEST_TIMED_OUT.code, true);
  }
}

/** The client was closed; nothing more can be done with it. */
export class ClientClosedError extends KafkaClientError {
  override readonly name: string = 'ClientClosedError';
  constructor(what = 'client') {
    super(`${what} is closed`, -1, false);
  }
}

/** A caller error: bad options, a record too large, an unknown partition. */
export class InvalidArgumentError extends KafkaClientError {
  override readonly name: string = 'InvalidArgumentError';
  constructor(message: string, code = -1) {
    super(message, code, false);
  }
}

export function isRetriableError(err: unknown): boolean {
  return err instanceof KafkaClientError && err.retriable;
}
