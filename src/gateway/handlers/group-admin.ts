/**
 * Group administration: ListGroups 0-5 (state filter from v4, type filter from v5) asks every
 * coordinator on this node and merges; DescribeGroups 0-5 and DeleteGroups 0-2 ask each group's
 * coordinator, grouping the ids by coordinator so one request makes one ask per coordinator.
 */
import type { DescribedGroup } from '../../../actors/group-coordinator/messages.js';
import type { CoordinatorAddress } from '../../cluster/group-coordinator-client.js';
import { errorCode } from '../../protocol/errors.js';
import type { DescribeGroupsResponseInput } from '../../protocol/messages/describe-groups.js';
import { handler, type RequestContext } from '../context.js';
import { asBuffer } from './group-route.js';

export const listGroups = handler(16, 0, 5, async (ctx, req) => {
  const v = ctx.header.apiVersion;
  const groups = ctx.broker.groups;
  const answers = await Promise.all(
    groups.local().map((address) =>
      groups.askAt(address, {
        type: 'ListGroups',
        statesFilter: v >= 4 ? req.statesFilter : [],
        typesFilter: v >= 5 ? req.typesFilter : [],
      }),
    ),
  );
  const failed = answers.find((a) => !a.ok);
  const listed = answers.flatMap((a) => (a.ok ? a.value.groups : []));
  return {
    throttleTimeMs: 0,
    errorCode: failed && !failed.ok ? failed.code : 0,
    groups: listed.map((g) => ({ groupId: g.groupId, protocolType: g.protocolType, groupState: g.groupState, groupType: 'classic' })),
  };
});

/** Splits group ids by coordinator; ids with no coordinator get `unroutable`. */
function byCoordinator(ctx: RequestContext, groupIds: readonly string[]): { asks: Map<string, { address: CoordinatorAddress; ids: string[] }>; unroutable: Map<string, number> } {
  const asks = new Map<string, { address: CoordinatorAddress; ids: string[] }>();
  const unroutable = new Map<string, number>();
  for (const id of groupIds) {
    const route = ctx.broker.groups.route(id);
    if (!route.ok) {
      unroutable.set(id, errorCode(route.error));
      continue;
    }
    const key = `${route.address.nodeId}/${route.address.actorId}`;
    const entry = asks.get(key) ?? { address: route.address, ids: [] };
    entry.ids.push(id);
    asks.set(key, entry);
  }
  return { asks, unroutable };
}

export const describeGroups = handler(15, 0, 5, async (ctx, req) => {
  const { asks, unroutable } = byCoordinator(ctx, req.groups);
  const found = new Map<string, DescribeGroupsResponseInput.DescribedGroup>();
  const empty = (groupId: string, code: number): DescribeGroupsResponseInput.DescribedGroup => ({
    errorCode: code,
    groupId,
    groupState: '',
    protocolType: '',
    protocolData: '',
    members: [],
  });
  await Promise.all(
    [...asks.values()].map(async ({ address, ids }) => {
      const r = await ctx.broker.groups.askAt(address, { type: 'DescribeGroups', groupIds: ids });
      if (!r.ok) for (const id of ids) found.set(id, empty(id, r.code));
      else for (const g of r.value.groups) found.set(g.groupId, described(g));
    }),
  );
  for (const [id, code] of unroutable) found.set(id, empty(id, code));
  return { throttleTimeMs: 0, groups: req.groups.map((id) => found.get(id) ?? empty(id, errorCode('COORDINATOR_NOT_AVAILABLE'))) };
});

function described(g: DescribedGroup): DescribeGroupsResponseInput.DescribedGroup {
  return {
    errorCode: g.errorCode,
    groupId: g.groupId,
    groupState: g.groupState,
    protocolType: g.protocolType,
    protocolData: g.protocolData,
    members: g.members.map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      memberMetadata: asBuffer(m.memberMetadata),
      memberAssignment: asBuffer(m.memberAssignment),
    })),
  };
}

export const deleteGroups = handler(42, 0, 2, async (ctx, req) => {
  const { asks, unroutable } = byCoordinator(ctx, req.groupsNames);
  const results = new Map<string, number>(unroutable);
  await Promise.all(
    [...asks.values()].map(async ({ address, ids }) => {
      const r = await ctx.broker.groups.askAt(address, { type: 'DeleteGroups', groupIds: ids });
      ids.forEach((id, i) => results.set(id, r.ok ? r.value.errorCodes[i]! : r.code));
    }),
  );
  return { throttleTimeMs: 0, results: req.groupsNames.map((groupId) => ({ groupId, errorCode: results.get(groupId)! })) };
});
