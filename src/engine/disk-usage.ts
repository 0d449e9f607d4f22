/** The engine's disk-usage walk (`/system/df`), asked for as little as the API allows. */
import type Docker from 'dockerode';
import { compareVersions } from './client.js';
import { classify } from './errors.js';
import type { RawBuildCache } from './build-cache.js';

export interface DiskUsage {
  readonly LayersSize?: number;
  readonly Volumes?: Array<{ Name: string; UsageData?: { Size?: number } | null }>;
  readonly BuildCache?: RawBuildCache[] | null;
}

/**
 * `/system/df` walks every volume, so reclaimd asks for it only when a plan removes volumes
 * or a buildCache policy needs the cache records (on API 1.41 the walk is always complete).
 * From API 1.42 the walk can be limited to one kind; 20.10 answers 500 while another df runs,
 * so that is retried a few times.
 */
export async function diskUsage(
  docker: Docker,
  apiVersion: string,
  type: 'image' | 'volume' | 'build-cache',
): Promise<DiskUsage> {
  const options = compareVersions(apiVersion, '1.42') >= 0 ? { type: [type] } : {};
  for (let attempt = 1; ; attempt++) {
    try {
      return await new Promise<DiskUsage>((resolve, reject) => {
        // dockerode's df() drops every option, so dial the endpoint directly.
        docker.modem.dial(
          {
            path: '/system/df?',
            method: 'GET',
            options,
            statusCodes: { 200: true, 400: 'bad request', 500: 'server error' },
          },
          (err: unknown, data: unknown) => (err ? reject(err) : resolve(data as DiskUsage)),
        );
      });
    } catch (err) {
      const e = classify(err);
      if (attempt >= 5 || e.statusCode !== 500 || !/already running/.test(e.message)) throw e;
      await new Promise((r) => setTimeout(r, 500 * attempt));
    }
  }
}
