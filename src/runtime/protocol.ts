/**
 * What an actor kind's protocol is, as types only: every thread uses these, none runs them.
 *
 * An actor kind declares one protocol in its `messages.ts`: a map from each message type to the
 * request it carries and the reply it is answered with (comlink's protocol.ts, as one map):
 *
 *   type PartitionProtocol = {
 *     Read: { request: { fetchOffset: number; maxBytes: number }; reply: ReadResult };
 *     RunMaintenance: { request: {}; reply: void; internal: true };
 *   };
 *
 * The message that crosses threads is the request with its `type` added (`MessageOf`), so the
 * message union and the reply of each message come from the one map and cannot drift apart.
 * Asks are generic over it (`Supervisor.ask`, the clients per actor kind in src/cluster), so
 * a misspelt field, an unknown type or a wrong reply type is a compile error. Messages marked
 * `internal` are ones an actor sends itself (timer ticks, through `ActorContext.schedule`):
 * nothing outside the actor may ask them.
 */

/** One exchange of a protocol: the request's fields (without `type`) and the reply. */
export interface Exchange {
  readonly request: object;
  readonly reply: unknown;
  /** True for messages only the actor itself sends (see `ActorContext.schedule`). */
  readonly internal?: true;
}

/** An actor kind's protocol: message type → exchange. */
export type Protocol = { readonly [type: string]: Exchange };

/** The message of type `K` as it crosses threads: the request's fields and its `type`. */
export type MessageOf<P extends Protocol, K extends keyof P & string = keyof P & string> = {
  [T in K]: { readonly type: T } & P[T]['request'];
}[K];

/** The reply to a message of type `K`. */
export type ReplyOf<P extends Protocol, K extends keyof P> = P[K]['reply'];

/** Message types the actor sends only to itself. */
export type InternalType<P extends Protocol> = {
  [K in keyof P & string]: P[K] extends { readonly internal: true } ? K : never;
}[keyof P & string];

/** Message types anyone routing to the actor may ask. */
export type AskableType<P extends Protocol> = Exclude<keyof P & string, InternalType<P>>;

/**
 * Where an actor lives: the node that hosts it and its actor id there. `P` is a phantom: it
 * types the asks the address accepts, and never exists at run time. An actor on another node
 * has the same shape; only the way an ask reaches it differs (see src/cluster/actor-client.ts).
 */
export interface ActorAddress<P extends Protocol> {
  readonly nodeId: number;
  readonly actorId: string;
  /** Never set: keeps addresses of different protocols apart for the compiler. */
  readonly protocol?: P;
}
