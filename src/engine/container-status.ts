/**
 * The container list's `Status` ("Exited (0) 3 weeks ago") says roughly when a container
 * stopped. It lets a cached finish time be trusted without inspecting the container again:
 * if the container ran and stopped since, the status no longer agrees with the cache.
 */

const UNIT_MS: Record<string, number> = {
  second: 1000,
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
  week: 7 * 86_400_000,
  month: 30 * 86_400_000,
  year: 365 * 86_400_000,
};

/**
 * Parses the age in a status (go-units HumanDuration) into a range of milliseconds, or
 * undefined when the text is not one we know. The range is generous: the engine rounds.
 */
export function statusAge(status: string): { min: number; max: number } | undefined {
  const text = status.replace(/^(Exited \(-?\d+\)|Dead|Created)\s*/, '').replace(/\s+ago$/, '');
  if (/^Less than a second$/i.test(text)) return { min: 0, max: 2000 };
  const about = /^About an? (minute|hour)$/i.exec(text);
  if (about) return around(1, UNIT_MS[(about[1] as string).toLowerCase()] as number);
  const m = /^(\d+) (second|minute|hour|day|week|month|year)s?$/i.exec(text);
  if (!m) return undefined;
  return around(Number(m[1]), UNIT_MS[(m[2] as string).toLowerCase()] as number);
}

function around(n: number, unit: number): { min: number; max: number } {
  return { min: Math.max(0, (n - 1) * unit), max: (n + 1.5) * unit };
}

/** The exit code in "Exited (137) 2 hours ago", if any. */
export function statusExitCode(status: string): number | undefined {
  const m = /^Exited \((-?\d+)\)/.exec(status);
  return m ? Number(m[1]) : undefined;
}
