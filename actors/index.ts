/**
 * Every actor kind a worker thread can host, by name. The supervisor spawns actors by kind;
 * adding a kind means adding it here.
 */
import { actorKind, type ActorFactory } from '../src/runtime/actor.js';
import { createGroupCoordinatorActor } from './group-coordinator/coordinator-actor.js';
import { createPartitionActor } from './partition/partition-actor.js';

export const actorKinds: ReadonlyMap<string, ActorFactory> = new Map<string, ActorFactory>([
  ['partition', actorKind(createPartitionActor)],
  ['group-coordinator', actorKind(createGroupCoordinatorActor)],
]);
