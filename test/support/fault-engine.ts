// A small HTTP server on a Unix socket that answers the requests reclaimd makes as a Docker
// 20.10 engine (API 1.41) would, for a tiny fixed state, and can spoil the answer of one route
// in every way the fault corpus lists. It records every request, so tests can say which
// removals were sent. Nothing here is a model of the engine's rules: it only replays answers
// of the shapes the real engine gives (the schemas reclaimd holds them to were checked against
// the real engines in CI).
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';

const hex = (c: string) => c.repeat(64);
export const IDS = {
  oldImage: `sha256:${hex('a')}`,
  usedImage: `sha256:${hex('b')}`,
  runningContainer: hex('1'),
  exitedContainer: hex('2'),
  network: hex('9'),
  volume: 'corpus-orphan',
};
const CREATED_2020 = 1_580_000_000;

/** What the fake engine holds: the few fields each answer is made from. Times in Unix seconds. */
export interface World {
  readonly images: ReadonlyArray<{
    id: string;
    tags: string[];
    created: number;
    size: number;
    labels: Record<string, string>;
  }>;
  readonly containers: ReadonlyArray<{
    id: string;
    imageId: string;
    state: 'running' | 'exited' | 'created';
    created: number;
    finished: number;
    labels: Record<string, string>;
    volumes: string[];
  }>;
  readonly volumes: ReadonlyArray<{ name: string; created: number; labels: Record<string, string>; size: number }>;
  readonly networks: ReadonlyArray<{ id: string; name: string; created: number }>;
}

/** The corpus's state: an old unused image, one in use by a running and an exited container, a volume and a network no one uses. */
export const CORPUS_WORLD: World = {
  images: [
    { id: IDS.oldImage, tags: ['corpus/old:1'], created: CREATED_2020, size: 1000, labels: {} },
    { id: IDS.usedImage, tags: ['corpus/used:1'], created: CREATED_2020, size: 1000, labels: {} },
  ],
  containers: [
    {
      id: IDS.runningContainer,
      imageId: IDS.usedImage,
      state: 'running',
      created: CREATED_2020,
      finished: 0,
      labels: {},
      volumes: [],
    },
    {
      id: IDS.exitedContainer,
      imageId: IDS.usedImage,
      state: 'exited',
      created: CREATED_2020,
      finished: CREATED_2020 + 86_400,
      labels: {},
      volumes: [],
    },
  ],
  volumes: [{ name: IDS.volume, created: CREATED_2020, labels: {}, size: 10 }],
  networks: [{ id: IDS.network, name: 'corpus-net', created: CREATED_2020 }],
};

/** The routes a cycle reads, by name; `pattern` matches the path after the version prefix. */
export const ROUTES = {
  version: { method: 'GET', pattern: /^\/version$/ },
  info: { method: 'GET', pattern: /^\/info$/ },
  imageList: { method: 'GET', pattern: /^\/images\/json$/ },
  containerList: { method: 'GET', pattern: /^\/containers\/json$/ },
  volumeList: { method: 'GET', pattern: /^\/volumes$/ },
  networkList: { method: 'GET', pattern: /^\/networks$/ },
  imageInspect: { method: 'GET', pattern: /^\/images\/[^/]+\/json$/ },
  imageHistory: { method: 'GET', pattern: /^\/images\/[^/]+\/history$/ },
  containerInspect: { method: 'GET', pattern: /^\/containers\/[^/]+\/json$/ },
  diskUsage: { method: 'GET', pattern: /^\/system\/df$/ },
} as const;
export type RouteName = keyof typeof ROUTES;

/** Every way an answer can be spoiled. */
export const FAULTS = [
  'truncated',
  'cut',
  'html',
  'null',
  'wrong-type',
  'absent-field',
  'negative-field',
  'endless',
  'redirect',
  'server-error',
  'stalled',
] as const;
export type Fault = (typeof FAULTS)[number];

const iso = (seconds: number) => new Date(seconds * 1000).toISOString();
// One layer per image, its diff ID made from the image's, so images share nothing.
const layerOf = (imageId: string) => `sha256:${imageId.slice(-63)}f`;

/**
 * The healthy answer of `route` for `pathname` in `world`, shaped as Docker 20.10 gives it; a
 * 404 (undefined) for an inspect of an object the world does not hold.
 */
export function answerOf(world: World, route: RouteName, pathname: string): unknown {
  const idIn = (prefix: string) => decodeURIComponent(pathname.slice(prefix.length).replace(/\/(json|history)$/, ''));
  const imageName = (imageId: string) => world.images.find((i) => i.id === imageId)?.tags[0] ?? imageId;
  switch (route) {
    case 'version':
      return { Version: '20.10.24', ApiVersion: '1.41', MinAPIVersion: '1.12', Os: 'linux', Arch: 'amd64' };
    case 'info':
      return {
        ID: 'CORPUS:ENGINE',
        DriverStatus: [['Backing Filesystem', 'extfs']],
        DockerRootDir: '/var/lib/docker',
        Swarm: { ControlAvailable: false },
      };
    case 'imageList':
      return world.images.map((i) => ({
        Containers: -1,
        Created: i.created,
        Id: i.id,
        Labels: i.labels,
        ParentId: '',
        RepoDigests: null,
        RepoTags: i.tags.length > 0 ? i.tags : null,
        SharedSize: -1,
        Size: i.size,
        VirtualSize: i.size,
      }));
    case 'containerList':
      return world.containers.map((c) => ({
        Id: c.id,
        Names: [`/c-${c.id.slice(0, 8)}`],
        Image: imageName(c.imageId),
        ImageID: c.imageId,
        Command: 'sh',
        Created: c.created,
        Ports: [],
        Labels: c.labels,
        State: c.state,
        Status: c.state === 'running' ? 'Up 2 days' : c.state === 'created' ? 'Created' : 'Exited (0) 3 weeks ago',
        HostConfig: { NetworkMode: 'default' },
        NetworkSettings: { Networks: {} },
        Mounts: c.volumes.map((name) => ({
          Type: 'volume',
          Name: name,
          Source: `/v/${name}`,
          Destination: `/${name}`,
          Driver: 'local',
          Mode: 'z',
          RW: true,
          Propagation: '',
        })),
      }));
    case 'volumeList':
      return {
        Volumes: world.volumes.map((v) => ({
          CreatedAt: iso(v.created),
          Driver: 'local',
          Labels: v.labels,
          Mountpoint: `/v/${v.name}`,
          Name: v.name,
          Options: null,
          Scope: 'local',
        })),
        Warnings: null,
      };
    case 'networkList':
      return world.networks.map((n) => ({
        Name: n.name,
        Id: n.id,
        Created: iso(n.created),
        Scope: 'local',
        Driver: 'bridge',
        EnableIPv6: false,
        IPAM: {},
        Internal: false,
        Attachable: false,
        Ingress: false,
        ConfigOnly: false,
        Containers: {},
        Options: {},
        Labels: {},
      }));
    case 'imageInspect': {
      const name = idIn('/images/');
      const image = world.images.find((i) => i.id === name || i.tags.includes(name));
      return (
        image && {
          Id: image.id,
          RepoTags: image.tags,
          RepoDigests: [],
          Parent: '',
          Created: iso(image.created),
          Size: image.size,
          Architecture: 'amd64',
          Os: 'linux',
          RootFS: { Type: 'layers', Layers: [layerOf(image.id)] },
        }
      );
    }
    case 'imageHistory': {
      const image = world.images.find((i) => i.id === idIn('/images/'));
      return (
        image && [
          {
            Id: image.id,
            Created: image.created,
            CreatedBy: 'COPY busybox /bin/busybox',
            Tags: null,
            Size: image.size,
            Comment: '',
          },
        ]
      );
    }
    case 'containerInspect': {
      const c = world.containers.find((x) => x.id === idIn('/containers/'));
      if (!c) return undefined;
      const finished = c.state === 'exited' ? iso(c.finished) : '0001-01-01T00:00:00Z';
      const state = {
        Status: c.state,
        Running: c.state === 'running',
        ExitCode: 0,
        StartedAt: iso(c.created),
        FinishedAt: finished,
      };
      return {
        Id: c.id,
        Image: c.imageId,
        State: state,
        Config: { Image: imageName(c.imageId), Labels: c.labels },
        SizeRw: 100,
        SizeRootFs: 1100,
      };
    }
    case 'diskUsage':
      return {
        LayersSize: world.images.reduce((s, i) => s + i.size, 0),
        Volumes: world.volumes.map((v) => ({ Name: v.name, UsageData: { Size: v.size, RefCount: 0 } })),
        BuildCache: [],
      };
  }
}

// The field each route's readers lean on most (an ID, a time, a size, a state), spoilt by the
// `wrong-type` and `absent-field` faults; and a number each reads, made negative.
const FIELD: Record<RouteName, string> = {
  version: 'ApiVersion',
  info: 'ID',
  imageList: 'Created',
  containerList: 'Created',
  volumeList: 'Volumes',
  networkList: 'Id',
  imageInspect: 'Size',
  imageHistory: 'Size',
  containerInspect: 'State',
  diskUsage: 'LayersSize',
};
const NUMBER: Record<RouteName, string> = {
  ...FIELD,
  version: 'ApiVersion',
  imageList: 'Size',
  containerInspect: 'SizeRw',
  volumeList: 'Volumes',
  networkList: 'Created',
};

/** The same answer with one field spoiled, for `wrong-type`, `absent-field` and `negative-field`. */
function spoil(route: RouteName, answer: unknown, fault: 'wrong-type' | 'absent-field' | 'negative-field'): unknown {
  const copy = JSON.parse(JSON.stringify(answer)) as Record<string, unknown> | Array<Record<string, unknown>>;
  const target = (Array.isArray(copy) ? copy[0] : copy) as Record<string, unknown>;
  if (fault === 'absent-field') delete target[FIELD[route]];
  else if (fault === 'wrong-type') target[FIELD[route]] = typeof target[FIELD[route]] === 'string' ? 12 : 'twelve';
  // Where a route reads no number of its own, -1 stands where it reads something else.
  else target[NUMBER[route]] = -1;
  return copy;
}

export interface Recorded {
  readonly method: string;
  readonly path: string;
}

export class FaultEngine {
  readonly requests: Recorded[] = [];
  /** Bytes the server wrote into endless answers, all told. */
  endlessBytes = 0;
  private fault: { route: RouteName; fault: Fault } | undefined;
  private changes = new Map<RouteName, (answer: unknown) => { json: unknown } | { text: string }>();
  private readonly open = new Set<ServerResponse>();

  /** What the engine holds; the corpus's state unless a test sets another. */
  world: World = CORPUS_WORLD;

  private constructor(
    private readonly server: Server,
    private readonly dir: string,
    readonly host: string,
  ) {}

  static async start(): Promise<FaultEngine> {
    const dir = mkdtempSync(path.join(tmpdir(), 'reclaimd-corpus-'));
    const socket = path.join(dir, 'docker.sock');
    let engine: FaultEngine | undefined;
    const server = createServer((req, res) => engine?.handle(req, res));
    await new Promise<void>((resolve) => server.listen(socket, resolve));
    engine = new FaultEngine(server, dir, `unix://${socket}`);
    return engine;
  }

  /** Spoils every answer of `route` from now on; undefined heals the engine. */
  set(fault: { route: RouteName; fault: Fault } | undefined): void {
    this.fault = fault;
    this.changes.clear();
    this.requests.length = 0;
  }

  /** Changes the healthy answer of `route` (until the next `set`): a well-formed answer with odd data. */
  patch(route: RouteName, change: (answer: unknown) => unknown): void {
    this.changes.set(route, (answer) => ({ json: change(answer) }));
  }

  /** Changes the healthy answer of `route` into other JSON, or into a text body (until the next `set`). */
  change(route: RouteName, change: (answer: unknown) => { json: unknown } | { text: string }): void {
    this.changes.set(route, change);
  }

  /**
   * Resolves once no request has come for `ms`: a cycle that failed may still have requests of
   * its own in flight (its other inspects), which must not be counted as the next one's.
   */
  async quiet(ms = 25): Promise<void> {
    while (Date.now() - this.lastRequestAt < ms) await new Promise((r) => setTimeout(r, ms));
  }

  /** Whether a request of `route` came since the last `set`. */
  asked(route: RouteName): boolean {
    return this.requests.some(
      (r) =>
        r.method === ROUTES[route].method &&
        ROUTES[route].pattern.test((r.path.split('?')[0] ?? '').replace(/^\/v[0-9.]+(?=\/)/, '')),
    );
  }

  /** The removals sent since the last `set`: every DELETE, and the build-cache prune. */
  removals(): Recorded[] {
    return this.requests.filter((r) => r.method === 'DELETE' || (r.method === 'POST' && r.path.includes('/prune')));
  }

  async stop(): Promise<void> {
    for (const res of this.open) res.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    rmSync(this.dir, { recursive: true, force: true });
  }

  private lastRequestAt = 0;

  private handle(req: IncomingMessage, res: ServerResponse): void {
    this.lastRequestAt = Date.now();
    const method = req.method ?? 'GET';
    const full = req.url ?? '/';
    this.requests.push({ method, path: full });
    const pathname = (full.split('?')[0] ?? '').replace(/^\/v[0-9.]+(?=\/)/, '');
    if (pathname === '/_ping') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('OK');
    if (method === 'DELETE') {
      // A removal the test did not expect still gets a plausible answer, so the client goes on
      // as it would against an engine: the test counts it.
      if (pathname.startsWith('/images/'))
        return this.json(res, 200, [{ Untagged: 'corpus/old:1' }, { Deleted: IDS.oldImage }]);
      return void res.writeHead(204).end();
    }
    if (method === 'POST' && pathname === '/build/prune')
      return this.json(res, 200, { CachesDeleted: [], SpaceReclaimed: 0 });
    const route = (Object.keys(ROUTES) as RouteName[]).find(
      (name) => ROUTES[name].method === method && ROUTES[name].pattern.test(pathname),
    );
    if (route === undefined) return this.json(res, 404, { message: `the fault engine has no ${method} ${pathname}` });
    const healthy = answerOf(this.world, route, pathname);
    if (healthy === undefined) return this.json(res, 404, { message: `no such object: ${pathname}` });
    const changed = this.changes.get(route)?.(healthy) ?? { json: healthy };
    if ('text' in changed) return this.raw(res, 200, changed.text);
    if (this.fault?.route !== route) return this.json(res, 200, changed.json);
    this.spoilt(res, route, changed.json, this.fault.fault);
  }

  private spoilt(res: ServerResponse, route: RouteName, answer: unknown, fault: Fault): void {
    const text = JSON.stringify(answer);
    switch (fault) {
      case 'truncated':
        // A whole HTTP answer whose JSON is three bytes short.
        return this.raw(res, 200, text.slice(0, -3));
      case 'cut': {
        // The headers promise the whole answer; the connection closes after half of it.
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        res.write(text.slice(0, Math.floor(text.length / 2)));
        setTimeout(() => res.destroy(), 20);
        return;
      }
      case 'html':
        return void res
          .writeHead(200, { 'content-type': 'text/html' })
          .end('<html><body><h1>502 Bad Gateway</h1></body></html>');
      case 'null':
        return this.raw(res, 200, 'null');
      case 'wrong-type':
      case 'absent-field':
      case 'negative-field':
        return this.json(res, 200, spoil(route, answer, fault));
      case 'endless':
        return this.endless(res);
      case 'redirect':
        // Somewhere that answers nothing: following it would fail in a request nobody listens to.
        return void res.writeHead(301, { location: 'http://127.0.0.1:9/elsewhere' }).end();
      case 'server-error':
        return this.json(res, 500, { message: 'the fault engine failed on purpose' });
      case 'stalled':
        // Headers and the start of a body, then nothing, ever.
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write(text.slice(0, 5));
        this.open.add(res);
        return;
    }
  }

  /** A JSON array that never ends, written as fast as the client reads it. */
  private endless(res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'application/json' });
    this.open.add(res);
    const chunk = Buffer.from(`${'{"Id":"x"},'.repeat(6000)}`);
    res.write('[');
    const pump = () => {
      let more = true;
      while (!res.destroyed && more) {
        more = res.write(chunk);
        this.endlessBytes += chunk.length;
      }
      if (!res.destroyed) res.once('drain', pump);
    };
    res.on('close', () => this.open.delete(res));
    pump();
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    this.raw(res, status, JSON.stringify(body));
  }

  private raw(res: ServerResponse, status: number, body: string): void {
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
  }
}
