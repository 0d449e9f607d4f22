/**
 * Which networks the network policies select. Networks hold no data and free no disk, but a
 * container created on a network that is gone can no longer start, and the engine does not
 * stop that: it refuses to delete a network with *running* endpoints (403) yet deletes one
 * that only stopped or created containers refer to (observed on 20.10). So "in use" here is
 * any container in any state, which the planner checks itself.
 */
import type { CompiledNetworkPolicy } from '../../config/compiled-policy.js';
import type { ContainerObj, NetworkObj } from '../../model/snapshot.js';
import { networkMatcher } from '../../match/networks.js';
import { noMatch, type Decision } from '../ledger.js';
import type { AfterContainers } from '../context.js';
import { firstUsers } from '../shared/first-users.js';
import { PREDEFINED_NETWORKS, refersToNetwork } from '../../model/network-refs.js';

import { nameLabelKeep } from '../../match/name-label-keep.js';
import { networkProtection, protectedReason } from '../../match/protect.js';

/** Why the engine (or swarm) owns this network, if it does; such networks are never selected. */
export function predefinedReason(n: NetworkObj): string | undefined {
  if (PREDEFINED_NETWORKS.has(n.name)) return `"${n.name}" is a predefined network`;
  if (n.ingress) return 'the swarm ingress network';
  if (n.scope === 'swarm') return 'swarm-scoped (managed by the swarm manager)';
  // Swarm networks are made from a config-only network; deleting it would break their next start.
  if (n.configOnly) return 'a config-only network (a template for swarm networks)';
  // A multi-host ('global') network may have containers on other hosts that this engine cannot
  // see, so only networks this host alone owns are ever removed.
  if (n.scope !== 'local') return `${n.scope}-scoped (may be in use on other hosts)`;
  return undefined;
}

/** Records the network policies' decisions. A network any remaining container refers to is in use. */
export function planNetworks(ctx: AfterContainers): void {
  const { remaining, now, ledger } = ctx;
  const networks = ctx.snapshot.networks ?? [];
  // Networks are listed only when a network policy needs them.
  if (networks.length === 0) return;
  const users = networkUsers(remaining);
  const safety = (n: NetworkObj): Decision | undefined => {
    // Protection first: it beats every other reason, and the reason names the entry that holds.
    const by = networkProtection(ctx.protect, n);
    if (by !== undefined) return { kind: 'keep', reason: protectedReason(by) };
    const predefined = predefinedReason(n);
    if (predefined) return { kind: 'keep', reason: predefined };
    const user = userOf(users, n);
    if (user) return { kind: 'keep', reason: `container ${user.name} (${user.state}) is attached` };
    return undefined;
  };
  for (const policy of ctx.policies) {
    if (policy.resource !== 'network') continue;
    const decide = networkDecider(policy, now, safety);
    for (const n of networks) {
      if (!ledger.taken('network', n.id))
        ledger.record('network', policy, n.id, decide(n), () => ({ id: n.id, name: n.name }));
    }
  }
}

/** Each network reference (name, ID or ID prefix) to the first container, by name, that makes it. */
function networkUsers(containers: readonly ContainerObj[]): Map<string, ContainerObj> {
  return firstUsers(containers, (c) => (c.networks ?? []).filter((ref) => ref !== ''));
}

/**
 * The engine accepts a network by name, full ID or ID prefix when a container is created and
 * keeps what it was given in NetworkMode, so a prefix of the ID counts as a reference too. A
 * name that happens to look like a prefix only keeps a network that could have gone: safe.
 */
function userOf(users: ReadonlyMap<string, ContainerObj>, n: NetworkObj): ContainerObj | undefined {
  const direct = users.get(n.name) ?? users.get(n.id);
  if (direct) return direct;
  for (const [ref, c] of users) if (refersToNetwork(ref, n)) return c;
  return undefined;
}

function networkDecider(policy: CompiledNetworkPolicy, now: number, safety: (n: NetworkObj) => Decision | undefined) {
  const match = networkMatcher(policy, now);
  const keep = nameLabelKeep(policy.keep);
  return (n: NetworkObj): Decision => {
    const reasons = match.test(n);
    if (reasons === null) return noMatch;
    const s = safety(n);
    if (s) return s;
    const kept = keep(n.name, n.labels);
    if (kept) return kept;
    return {
      kind: 'select',
      reason: reasons.length > 0 ? `${reasons.join(', ')}, no container attached` : 'no container attached',
    };
  };
}
