/**
 * The images swarm services name, read from the engine on a swarm manager. A service scaled
 * to 0 (or between tasks) has no container, yet the next task needs its image, so the planner
 * treats these images as in use (see src/core/planner/resources/deployed.ts).
 */
import type Docker from 'dockerode';
import type { ServiceImage } from '../core/model/snapshot.js';

/**
 * Lists `Spec.TaskTemplate.ContainerSpec.Image` of every service, only when `/info` says this
 * engine is a swarm manager: on any other engine `/services` answers 503, and that must never
 * fail a cycle. On a worker node services cannot be read at all; its task containers, while
 * they exist, protect their images as any container does.
 */
export async function listServiceImages(docker: Docker): Promise<ServiceImage[]> {
  const info = (await docker.info()) as { Swarm?: { ControlAvailable?: boolean } | null };
  if (info.Swarm?.ControlAvailable !== true) return [];
  let services: Docker.Service[];
  try {
    services = await docker.listServices();
  } catch (err) {
    // Demoted (or the swarm left) between the two requests: there is nothing to read. Any
    // other failure, lost quorum included, propagates: without the services the planner
    // cannot tell which images they need, so the cycle must not remove images.
    if (notAManager(err)) return [];
    throw err;
  }
  return services.flatMap((s) => {
    // Plugin services (TaskTemplate.PluginSpec) run no image of their own.
    const task = s.Spec?.TaskTemplate as { ContainerSpec?: { Image?: string } } | undefined;
    const reference = task?.ContainerSpec?.Image;
    return reference ? [{ service: s.Spec?.Name ?? s.ID, reference }] : [];
  });
}

function notAManager(err: unknown): boolean {
  const e = err as { statusCode?: number; json?: { message?: string } | null; message?: string };
  const message = e.json?.message ?? e.message ?? '';
  return e.statusCode === 503 && /not a swarm manager|not part of a swarm/i.test(message);
}
