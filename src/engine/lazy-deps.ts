/**
 * Defers the parts of dockerode that reclaimd does not use until something calls them.
 *
 * dockerode loads, at require time, an SSH client (for `ssh://` engine addresses) and gRPC
 * with protobuf (for BuildKit sessions): about 16 MB of resident memory in a daemon that
 * talks to a unix socket and never builds. Both are reached through one function each
 * (docker-modem's `lib/ssh.js`, dockerode's `lib/session.js`), so those two modules are
 * replaced by a stand-in function that loads the real module on its first call. An
 * `ssh://` DOCKER_HOST still works; it just pays for the SSH client when it connects.
 *
 * This module must be imported before dockerode; client.ts, the only importer of dockerode,
 * imports it first.
 */
import Module, { createRequire } from 'node:module';

// The CommonJS loader's internals; not in @types/node, stable since Node 0.x.
interface Loader {
  _load(request: string, parent: unknown, isMain: boolean): unknown;
  _resolveFilename(request: string, parent: unknown, isMain: boolean): string;
}

const DEFERRED = [/[/\\]docker-modem[/\\]lib[/\\]ssh\.js$/, /[/\\]dockerode[/\\]lib[/\\]session\.js$/];

const loader = Module as unknown as Loader;
const load = loader._load.bind(loader);
let installed = false;

/** Installs the deferral once; safe to call again. */
export function deferUnusedDockerodeParts(): void {
  if (installed) return;
  installed = true;
  loader._load = (request, parent, isMain) => {
    const file = loader._resolveFilename(request, parent, isMain);
    if (!DEFERRED.some((re) => re.test(file))) return load(request, parent, isMain);
    let real: ((...args: unknown[]) => unknown) | undefined;
    return function deferred(this: unknown, ...args: unknown[]): unknown {
      real ??= load(request, parent, isMain) as (...args: unknown[]) => unknown;
      return real.apply(this, args);
    };
  };
}

deferUnusedDockerodeParts();

/** For tests: whether a module file was loaded (by path suffix). */
export function loadedModule(suffix: RegExp): boolean {
  const cache = createRequire(import.meta.url).cache;
  return Object.keys(cache).some((k) => suffix.test(k));
}
