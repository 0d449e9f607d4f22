/**
 * Reads the configuration and policy files from disk and hands their text to the pure
 * validator. Policy globs are relative to the configuration file.
 */
import { constants } from 'node:fs';
import { open, readdir } from 'node:fs/promises';
import path from 'node:path';
import { checkConfigText, resolveConfig, type Config, type TextFile } from '../core/config/config.js';
import { compileGlob } from '../lib/glob.js';
import type { Problem, Result } from '../core/config/problems.js';
import { parseYaml } from '../core/config/yaml-source.js';

export async function loadConfig(configPath: string): Promise<Result<Config>> {
  const config = await readText(configPath);
  if (!config.ok) return config;
  const raw = checkConfigText(config.value);
  if (!raw.ok) return raw;
  const problems: Problem[] = [];
  const files: TextFile[] = [];
  const seen = new Set<string>();
  // Problems with an entry of `policies:` point at that entry in the configuration file.
  const parsed = parseYaml(config.value.text, configPath);
  const entry = (i: number, message: string): Problem => ({
    file: configPath,
    ...(parsed.ok ? parsed.source.locate(['policies', i]) : { line: 1, col: 1 }),
    where: `/policies/${i}`,
    message,
  });
  for (const [i, pattern] of raw.value.policies.entries()) {
    const matches = await expand(path.dirname(configPath), pattern);
    if (matches.length === 0) problems.push(entry(i, `"${pattern}" matches no policy file`));
    for (const file of matches) {
      if (seen.has(file)) continue;
      seen.add(file);
      const text = await readText(file);
      if (text.ok) files.push(text.value);
      else if (isGlob(pattern)) problems.push(...text.problems);
      else {
        const message = text.problems[0]?.message ?? 'cannot be read';
        const hint = /is a directory/.test(message)
          ? ` (to load the files in it, write "${pattern.replace(/\/+$/, '')}/*.yaml")`
          : '';
        problems.push(entry(i, `"${pattern}": ${message}${hint}`));
      }
    }
  }
  if (problems.length > 0) return { ok: false, problems };
  return resolveConfig(configPath, raw.value, files);
}

// No configuration or policy file needs this much; reading it would only cost memory.
const MAX_BYTES = 1024 * 1024;

/**
 * Reads a configuration or policy file, which must be a regular file. It is opened first
 * (without waiting: O_NONBLOCK, so a FIFO with no writer cannot hang the daemon) and what was
 * opened is looked at, so a file swapped for something else in between is caught too. A
 * directory, a FIFO, a socket or a device is refused by name, and no more than MAX_BYTES are
 * ever read (a file growing while read, or /dev/zero behind a link, cannot fill memory).
 */
async function readText(file: string): Promise<Result<TextFile>> {
  try {
    const handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
    try {
      const info = await handle.stat();
      if (info.isDirectory()) return fail(file, 'is a directory, expected a YAML file');
      if (!info.isFile()) return fail(file, 'is not a regular file (a FIFO, socket or device), expected a YAML file');
      if (info.size > MAX_BYTES) return fail(file, `file is larger than ${MAX_BYTES} bytes; refusing to parse it`);
      // Sized by what the file says it holds, grown only if it grows meanwhile: a reload reads
      // every policy file each ping interval, so no megabyte is allocated for each of them.
      let buf = Buffer.allocUnsafe(info.size + 1);
      let length = 0;
      for (;;) {
        if (length === buf.length) {
          if (length > MAX_BYTES) break;
          const bigger = Buffer.allocUnsafe(Math.min(2 * length, MAX_BYTES + 1));
          buf.copy(bigger, 0, 0, length);
          buf = bigger;
        }
        const { bytesRead } = await handle.read(buf, length, buf.length - length, length);
        if (bytesRead === 0) break;
        length += bytesRead;
      }
      if (length > MAX_BYTES) return fail(file, `file is larger than ${MAX_BYTES} bytes; refusing to parse it`);
      const bytes = buf.subarray(0, length);
      if (bytes.includes(0)) return fail(file, 'this is a binary file, not YAML');
      const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
      return { ok: true, value: { file, text } };
    } finally {
      await handle.close();
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') return fail(file, 'no such file');
    if (e.code === 'EISDIR') return fail(file, 'is a directory, expected a YAML file');
    if (e instanceof TypeError) return fail(file, 'is not valid UTF-8 text');
    return fail(file, `cannot be read: ${e.message}`);
  }
}

function fail(file: string, message: string): { ok: false; problems: Problem[] } {
  return { ok: false, problems: [{ file, line: 1, col: 1, where: '', message }] };
}

/**
 * Expands a policy path or glob (same glob rules as in policies) relative to `base`. Matches are
 * sorted so that file order, and so attribution order, never depends on the file system.
 */
async function expand(base: string, pattern: string): Promise<string[]> {
  const full = path.resolve(base, pattern);
  if (!isGlob(pattern)) return [display(full)];
  const segments = full.split(path.sep);
  const firstGlob = segments.findIndex((s) => /[*?[]/.test(s));
  const root = segments.slice(0, firstGlob).join(path.sep) || path.sep;
  const rest = segments.slice(firstGlob);
  const glob = compileGlob(rest.join('/'));
  if (!glob.ok) return [];
  // A glob ending in `**` means every file below; any other that names a directory expects a file there.
  const allBelow = rest[rest.length - 1] === '**';
  const found: string[] = [];
  const walk = async (dir: string, rel: string, depth: number): Promise<void> => {
    if (depth > 8) return;
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const relPath = rel === '' ? entry.name : `${rel}/${entry.name}`;
      // Whatever the glob names is taken, whatever it is: a directory, a FIFO or a dangling
      // link where a policy file was expected must be reported, not left out.
      if (entry.isDirectory() && (allBelow || !glob.match(relPath)))
        await walk(path.join(dir, entry.name), relPath, depth + 1);
      else if (glob.match(relPath)) found.push(path.join(dir, entry.name));
    }
  };
  await walk(root, '', 0);
  return found.sort().map(display);
}

function isGlob(pattern: string): boolean {
  return /[*?[]/.test(pattern);
}

/** Paths below the working directory are shown relative to it, others in full. */
function display(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel === '' || rel.startsWith('..') || path.isAbsolute(rel) ? file : rel;
}
