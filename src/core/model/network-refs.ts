/** How containers refer to networks; shared by the planner and the engine's last check before deleting. */

/**
 * Whether one container network reference (see containerNetworks) names this network: its
 * name, its ID, or a prefix of its ID. The engine accepts a network by any of these when a
 * container is created and keeps what it was given in NetworkMode. The check just before
 * deleting uses this too, so it sees exactly the users the plan saw.
 */
export function refersToNetwork(ref: string, n: { readonly id: string; readonly name: string }): boolean {
  return ref !== '' && (ref === n.name || n.id.startsWith(ref));
}

/**
 * Networks the engine creates and manages itself. The engine refuses to delete the first
 * three; `ingress` and `docker_gwbridge` belong to swarm mode, which recreates or needs them.
 */
export const PREDEFINED_NETWORKS: ReadonlySet<string> = new Set([
  'bridge',
  'host',
  'none',
  'default',
  'ingress',
  'docker_gwbridge',
]);
