/**
 * The classic group membership apis, forwarded to the group's coordinator actor: JoinGroup
 * 0-9, SyncGroup 0-5, Heartbeat 0-4, LeaveGroup 0-5 (batched members from v3). JoinGroup and
 * SyncGroup wait in the coordinator until the group completes its rebalance, so their asks
 * wait up to the member's rebalance timeout (plus a margin) instead of the usual ask timeout.
 */
import { groupLimits } from '../../../actors/group-coordinator/limits.js';
import type { JoinGroup, JoinGroupResult } from '../../../actors/group-coordinator/messages.js';
import type { JoinGroupResponseInput } from '../../protocol/messages/join-group.js';
import { handler } from '../context.js';
import { asBuffer, clientIdOf } from './group-route.js';

/** What a JoinGroup or SyncGroup ask may wait beyond the group's own deadlines. */
const ASK_MARGIN_MS = 5_000;

export const joinGroup = handler(11, 0, 9, async (ctx, req) => {
  const v = ctx.header.apiVersion;
  // JoinGroup v0 has no rebalance timeout: Kafka uses the session timeout for both.
  const rebalanceTimeoutMs = v >= 1 ? req.rebalanceTimeoutMs : req.sessionTimeoutMs;
  const msg: JoinGroup = {
    type: 'JoinGroup',
    groupId: req.groupId,
    memberId: req.memberId,
    groupInstanceId: v >= 5 ? req.groupInstanceId : null,
    sessionTimeoutMs: req.sessionTimeoutMs,
    rebalanceTimeoutMs,
    protocolType: req.protocolType,
    protocols: req.protocols.map((p) => ({ name: p.name, metadata: p.metadata })),
    clientId: clientIdOf(ctx),
    clientHost: ctx.clientHost,
    requireKnownMemberId: v >= 4,
    supportSkippingAssignment: v >= 9,
    reason: req.reason,
  };
  const waitMs = Math.min(Math.max(rebalanceTimeoutMs, 0), groupLimits.rebalanceTimeoutMsMax) + ctx.broker.config.groupInitialRebalanceDelayMs + ASK_MARGIN_MS;
  const r = await ctx.broker.groups.ask(req.groupId, msg, { timeoutMs: waitMs });
  if (!r.ok) {
    return { throttleTimeMs: 0, errorCode: r.code, generationId: -1, protocolType: null, protocolName: v >= 7 ? null : '', leader: '', memberId: req.memberId, members: [] };
  }
  return joinResponse(v, r.value);
});

function joinResponse(v: number, r: JoinGroupResult): JoinGroupResponseInput {
  return {
    throttleTimeMs: 0,
    errorCode: r.errorCode,
    generationId: r.generationId,
    protocolType: r.protocolType,
    // Before v7 the protocol name is not nullable: an error answer carries an empty name.
    protocolName: v >= 7 ? r.protocolName : (r.protocolName ?? ''),
    leader: r.leader,
    skipAssignment: r.skipAssignment,
    memberId: r.memberId,
    members: r.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: asBuffer(m.metadata) })),
  };
}

export const syncGroup = handler(14, 0, 5, async (ctx, req) => {
  const v = ctx.header.apiVersion;
  const r = await ctx.broker.groups.ask(
    req.groupId,
    {
      type: 'SyncGroup',
      groupId: req.groupId,
      generationId: req.generationId,
      memberId: req.memberId,
      groupInstanceId: v >= 3 ? req.groupInstanceId : null,
      protocolType: v >= 5 ? req.protocolType : null,
      protocolName: v >= 5 ? req.protocolName : null,
      assignments: req.assignments.map((a) => ({ memberId: a.memberId, assignment: a.assignment })),
    },
    { timeoutMs: groupLimits.rebalanceTimeoutMsMax + ASK_MARGIN_MS },
  );
  if (!r.ok) return { throttleTimeMs: 0, errorCode: r.code, protocolType: null, protocolName: null, assignment: Buffer.alloc(0) };
  return {
    throttleTimeMs: 0,
    errorCode: r.value.errorCode,
    protocolType: r.value.protocolType,
    protocolName: r.value.protocolName,
    assignment: asBuffer(r.value.assignment),
  };
});

export const heartbeat = handler(12, 0, 4, async (ctx, req) => {
  const r = await ctx.broker.groups.ask(req.groupId, {
    type: 'Heartbeat',
    groupId: req.groupId,
    generationId: req.generationId,
    memberId: req.memberId,
    groupInstanceId: ctx.header.apiVersion >= 3 ? req.groupInstanceId : null,
  });
  return { throttleTimeMs: 0, errorCode: r.ok ? r.value.errorCode : r.code };
});

export const leaveGroup = handler(13, 0, 5, async (ctx, req) => {
  const v = ctx.header.apiVersion;
  const members =
    v >= 3
      ? req.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, reason: v >= 5 ? m.reason : null }))
      : [{ memberId: req.memberId, groupInstanceId: null, reason: null }];
  const r = await ctx.broker.groups.ask(req.groupId, { type: 'LeaveGroup', groupId: req.groupId, members });
  if (!r.ok) return { throttleTimeMs: 0, errorCode: r.code, members: [] };
  // Before v3 one member leaves and its error is the response's.
  if (v < 3) return { throttleTimeMs: 0, errorCode: r.value.members[0]?.errorCode ?? 0, members: [] };
  return { throttleTimeMs: 0, errorCode: r.value.errorCode, members: r.value.members.map((m) => ({ ...m })) };
});
