/**
 * What a request handler sees: the node's parts it may use, and the request's own header. One
 * handler file per api under handlers/, each exporting a `HandlerEntry`; all run on the main
 * thread and reach actors only through the clients per actor kind (src/cluster), which route,
 * ask and map failures to Kafka error codes.
 */
import type { Controller } from '../cluster/controller.js';
import type { GroupCoordinatorClient } from '../cluster/group-coordinator-client.js';
import type { PartitionClient } from '../cluster/partition-client.js';
import type { NodeConfig } from '../config.js';
import type { Logger } from '../log.js';
import type { RequestHeader } from '../protocol/codec.js';
import type { ApiKey, RequestBodies, ResponseInputs } from '../protocol/messages/index.js';
import type { GatewayProbe } from './probe.js';

export interface Broker {
  readonly config: NodeConfig;
  readonly controller: Controller;
  /** Partitions: routing, typed asks, waiting for a high watermark. */
  readonly partitions: PartitionClient;
  /** Group coordinators: routing by group id, typed asks. */
  readonly groups: GroupCoordinatorClient;
  readonly probe: GatewayProbe;
  readonly log: Logger;
  /** Where clients reach this node (advertised host and the listener's bound port). */
  readonly advertised: { readonly host: string; readonly port: number };
}

export interface RequestContext {
  readonly broker: Broker;
  readonly header: RequestHeader;
  readonly clientHost: string;
  /**
   * True when the request frame's ArrayBuffer holds this frame alone (the connection assembled it
   * from several socket reads), so a handler may transfer it to a worker instead of copying; false
   * when the frame is a view into a socket read shared with other frames.
   */
  readonly frameOwned: boolean;
}

/** Returns the response body, or null when no response is sent (Produce with acks=0). */
export type Handler<K extends ApiKey> = (ctx: RequestContext, body: RequestBodies[K]) => Promise<ResponseInputs[K] | null> | ResponseInputs[K] | null;

export interface HandlerEntry<K extends ApiKey = ApiKey> {
  readonly apiKey: K;
  /** The versions Brook advertises in ApiVersions and accepts. */
  readonly minVersion: number;
  readonly maxVersion: number;
  readonly handle: Handler<K>;
}

export function handler<K extends ApiKey>(apiKey: K, minVersion: number, maxVersion: number, handle: Handler<K>): HandlerEntry<K> {
  return { apiKey, minVersion, maxVersion, handle };
}
