/** Which volumes the volume policies select, and the anonymous volumes of removed containers. */
import type { CompiledVolumePolicy } from '../../config/compiled-policy.js';
import type { Usage, VolumeObj } from '../../model/snapshot.js';
import { isAnonymousVolume } from '../../model/snapshot.js';
import { noMatch, type Decision } from '../ledger.js';
import type { AfterContainers } from '../context.js';
import { byNameThenId, firstUsers } from '../shared/first-users.js';
import { nameLabelKeep } from '../../match/name-label-keep.js';
import { volumeMatcher } from '../../match/volumes.js';
import { protectedReason, volumeProtection } from '../../match/protect.js';

/**
 * Records the volume policies' decisions, and the anonymous volumes of removed containers. A
 * volume any remaining container mounts is in use. Last use comes from Snapshot.usage; when it
 * is absent, `unusedFor` selects nothing.
 */
export function planVolumes(ctx: AfterContainers): void {
  const { remaining, removed, now, ledger } = ctx;
  const volumes = ctx.snapshot.volumes;
  const usage = ctx.snapshot.usage;
  const mountedBy = firstUsers(remaining, (c) => c.volumes);
  const byName = new Map(volumes.map((v) => [v.name, v]));
  const safety = (v: VolumeObj): Decision | undefined => {
    // Protection first: it beats every other reason, and the reason names the entry that holds.
    const by = volumeProtection(ctx.protect, v);
    if (by !== undefined) return { kind: 'keep', reason: protectedReason(by) };
    const user = mountedBy.get(v.name);
    if (user) return { kind: 'keep', reason: `mounted by container ${user.name} (${user.state})` };
    // Other drivers may keep data elsewhere (NFS, cloud disks); the engine's own prune skips them too.
    if (v.driver !== 'local') return { kind: 'keep', reason: `driver "${v.driver}" is not local` };
    // A local volume with options mounts something else (NFS, a bind, a device): its data is
    // not the volume's to lose, and the engine's own prune skips it too.
    if (v.driverOptions === true)
      return { kind: 'keep', reason: 'created with driver options (e.g. an NFS or bind mount)' };
    return undefined;
  };

  // Removed containers that mount something: the only ones with anonymous volumes to take.
  const removedWithVolumes = [...removed.values()].filter((c) => c.volumes.length > 0).sort(byNameThenId);
  // Policies run in file order so that the first one to select a volume is credited with it,
  // whether it is a volume policy or a container policy that removes anonymous volumes.
  for (const policy of ctx.policies) {
    if (policy.resource === 'volume') {
      const decide = volumeDecider(policy, now, safety, usage);
      for (const v of volumes) {
        if (!ledger.taken('volume', v.name))
          ledger.record('volume', policy, v.name, decide(v), () => ({ id: v.name, name: v.name }));
      }
    } else if (policy.resource === 'container' && policy.removeAnonymousVolumes) {
      // In name order: when two removed containers share an anonymous volume, the reason names
      // the same one whatever order the engine listed them in.
      for (const c of removedWithVolumes) {
        if (ledger.selectedBy('container', c.id) !== policy.name) continue;
        for (const name of c.volumes) {
          const v = byName.get(name);
          if (!v || !isAnonymousVolume(v)) continue;
          const decision = safety(v) ?? { kind: 'select', reason: `anonymous volume of removed container ${c.name}` };
          ledger.record('volume', policy, v.name, decision, () => ({ id: v.name, name: v.name }));
        }
      }
    }
  }
}

function volumeDecider(
  policy: CompiledVolumePolicy,
  now: number,
  safety: (v: VolumeObj) => Decision | undefined,
  usage: Usage | undefined,
) {
  const match = volumeMatcher(policy, now, usage);
  const keep = nameLabelKeep(policy.keep);
  return (v: VolumeObj): Decision => {
    const reason = match.test(v);
    if (reason === null) return noMatch;
    const s = safety(v);
    if (s) return s;
    const kept = keep(v.name, v.labels);
    if (kept) return kept;
    // The reason is built last, only for a volume that is selected.
    return { kind: 'select', reason: reason() };
  };
}
