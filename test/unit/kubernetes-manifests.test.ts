// deploy/kubernetes validated offline, in two layers. kubernetes-models' schemas (from the
// Kubernetes OpenAPI document and the prometheus-operator CRDs) check types, enums and
// required fields, but like the OpenAPI document they accept unknown fields, which the API
// server rejects (kubectl's strict field validation). The same package's TypeScript types are
// exact, so each manifest is also type-checked as an object literal: a misspelled field is an
// excess-property error. Then the pieces must fit together, and the ConfigMap must be a
// configuration reclaimd itself accepts.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { DaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { loadConfig } from '../../src/runtime/load-config.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DIR = path.join(ROOT, 'deploy/kubernetes');

// Each kind: the model whose validate() runs the schema, and the module and interface of its exact type.
const KINDS: Record<string, { model: new (data: never) => { validate(): void }; types: string; iface: string }> = {
  'v1/Namespace': { model: Namespace, types: 'kubernetes-models/v1/Namespace', iface: 'INamespace' },
  'v1/ServiceAccount': {
    model: ServiceAccount,
    types: 'kubernetes-models/v1/ServiceAccount',
    iface: 'IServiceAccount',
  },
  'v1/ConfigMap': { model: ConfigMap, types: 'kubernetes-models/v1/ConfigMap', iface: 'IConfigMap' },
  'v1/Service': { model: Service, types: 'kubernetes-models/v1/Service', iface: 'IService' },
  'apps/v1/DaemonSet': { model: DaemonSet, types: 'kubernetes-models/apps/v1/DaemonSet', iface: 'IDaemonSet' },
  'monitoring.coreos.com/v1/ServiceMonitor': {
    model: ServiceMonitor,
    types: '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor',
    iface: 'IServiceMonitor',
  },
};

// A loose view of the manifests, enough to read the fields the cross-checks need.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed YAML, checked by the assertions
type Json = any;

interface Manifest {
  file: string;
  body: Json;
}

function kindOf(m: Manifest): (typeof KINDS)[string] {
  const kind = KINDS[`${String(m.body.apiVersion)}/${String(m.body.kind)}`];
  if (kind === undefined)
    throw new Error(`${m.file}: no schema for ${String(m.body.apiVersion)} ${String(m.body.kind)}`);
  return kind;
}

function loadManifests(): Manifest[] {
  const files = readdirSync(DIR)
    .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
    .sort();
  return files.flatMap((file) =>
    parseAllDocuments(readFileSync(path.join(DIR, file), 'utf8')).map((doc) => ({ file, body: doc.toJS() as Json })),
  );
}

/** Schema problems of one manifest (types, enums, required fields), or undefined. */
function schemaProblem(m: Manifest): string | undefined {
  try {
    new (kindOf(m).model)(m.body as never).validate();
    return undefined;
  } catch (err) {
    return `${m.file}: ${(err as Error).message}`;
  }
}

/**
 * Unknown fields, found by type-checking every manifest as an object literal of its exact type
 * in a program that exists only in memory.
 */
function unknownFieldProblems(manifests: readonly Manifest[]): string[] {
  const file = path.join(ROOT, 'test/unit/kubernetes-manifests.virtual.ts');
  const starts: number[] = [];
  let source = '';
  manifests.forEach((m, i) => {
    const kind = kindOf(m);
    source += `import type { ${kind.iface} as T${i} } from '${kind.types}';\n`;
    starts.push(source.length);
    source += `export const m${i}: T${i} = ${JSON.stringify(m.body, null, 2)};\n`;
  });
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
  };
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (name, language, ...rest) =>
    name === file ? ts.createSourceFile(name, source, language) : getSourceFile.call(host, name, language, ...rest);
  host.fileExists = (name) => name === file || fileExists.call(host, name);
  host.readFile = (name) => (name === file ? source : readFile.call(host, name));
  const program = ts.createProgram([file], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const index = starts.filter((s) => s <= (d.start ?? 0)).length - 1;
    return `${manifests[index]?.file ?? '?'}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
  });
}

const manifests = loadManifests();
const one = (kind: string): Json => {
  const found = manifests.filter((m) => m.body.kind === kind);
  expect(found, kind).toHaveLength(1);
  return found[0]!.body;
};

/**
 * Writes the ConfigMap's items where the DaemonSet mounts them (in a temporary directory) and
 * loads the configuration the container's --config names, as reclaimd in the pod would.
 */
async function loadMountedConfig(): ReturnType<typeof loadConfig> {
  const configMap = one('ConfigMap');
  const pod = one('DaemonSet').spec.template.spec;
  const volume = pod.volumes.find((v: Json) => v.configMap?.name === configMap.metadata.name);
  const mount = pod.containers[0].volumeMounts.find((m: Json) => m.name === volume.name);
  const dir = mkdtempSync(path.join(tmpdir(), 'reclaimd-k8s-'));
  for (const item of volume.configMap.items as { key: string; path: string }[]) {
    mkdirSync(path.dirname(path.join(dir, item.path)), { recursive: true });
    writeFileSync(path.join(dir, item.path), configMap.data[item.key]);
  }
  const configArg = pod.containers[0].args[pod.containers[0].args.indexOf('--config') + 1] as string;
  expect(path.dirname(configArg)).toBe(mount.mountPath);
  return loadConfig(path.join(dir, path.basename(configArg)));
}

type Level = 'privileged' | 'baseline' | 'restricted';

// Pod Security Standards (kubernetes.io/docs/concepts/security/pod-security-standards/): the
// controls a pod spec can break, as Pod Security Admission checks them.
const BASELINE_CAPABILITIES = new Set(
  'AUDIT_WRITE CHOWN DAC_OVERRIDE FOWNER FSETID KILL MKNOD NET_BIND_SERVICE SETFCAP SETGID SETPCAP SETUID SYS_CHROOT'.split(
    ' ',
  ),
);
const RESTRICTED_VOLUMES = new Set([
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'persistentVolumeClaim',
  'projected',
  'secret',
]);

/** What in `pod` (a pod spec) the Pod Security Standard `level` forbids, one line each. */
function podSecurityViolations(pod: Json, level: Exclude<Level, 'privileged'>): string[] {
  const found: string[] = [];
  const containers: Json[] = [...(pod.initContainers ?? []), ...pod.containers, ...(pod.ephemeralContainers ?? [])];
  const podContext = pod.securityContext ?? {};
  for (const ns of ['hostNetwork', 'hostPID', 'hostIPC']) if (pod[ns] === true) found.push(`${ns}`);
  for (const v of pod.volumes ?? []) {
    if (v.hostPath !== undefined) found.push(`hostPath volume "${v.name}"`);
    else if (level === 'restricted') {
      const kind = Object.keys(v).find((k) => k !== 'name');
      if (kind === undefined || !RESTRICTED_VOLUMES.has(kind)) found.push(`${String(kind)} volume "${v.name}"`);
    }
  }
  if (podContext.seccompProfile?.type === 'Unconfined') found.push('pod seccomp Unconfined');
  for (const c of containers) {
    const context = c.securityContext ?? {};
    const name = `"${c.name}"`;
    if (context.privileged === true) found.push(`privileged container ${name}`);
    if (context.windowsOptions?.hostProcess === true) found.push(`host process ${name}`);
    if ((c.ports ?? []).some((p: Json) => (p.hostPort ?? 0) !== 0)) found.push(`host port in ${name}`);
    if (context.procMount !== undefined && context.procMount !== 'Default') found.push(`procMount in ${name}`);
    const seccomp = context.seccompProfile?.type ?? podContext.seccompProfile?.type;
    if (context.seccompProfile?.type === 'Unconfined') found.push(`seccomp Unconfined in ${name}`);
    const added: string[] = context.capabilities?.add ?? [];
    if (added.some((cap) => !BASELINE_CAPABILITIES.has(cap))) found.push(`capabilities added to ${name}`);
    if (level === 'baseline') continue;
    if (context.allowPrivilegeEscalation !== false) found.push(`container ${name} allows privilege escalation`);
    if ((context.runAsNonRoot ?? podContext.runAsNonRoot) !== true) found.push(`container ${name} may run as root`);
    if ((context.runAsUser ?? podContext.runAsUser) === 0) found.push(`container ${name} runs as uid 0`);
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') found.push(`no seccomp profile for ${name}`);
    if (!(context.capabilities?.drop ?? []).includes('ALL')) found.push(`container ${name} keeps capabilities`);
    if (added.some((cap) => cap !== 'NET_BIND_SERVICE')) found.push(`capabilities beyond NET_BIND_SERVICE in ${name}`);
  }
  return found;
}

/** The strictest Pod Security level that admits `pod`. */
function strictestLevel(pod: Json): Level {
  if (podSecurityViolations(pod, 'restricted').length === 0) return 'restricted';
  if (podSecurityViolations(pod, 'baseline').length === 0) return 'baseline';
  return 'privileged';
}

interface Taint {
  key: string;
  value?: string;
  effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
}
interface Toleration {
  key?: string;
  operator?: 'Exists' | 'Equal';
  value?: string;
  effect?: string;
  tolerationSeconds?: number;
}

/** Whether `t` tolerates `taint`, by the scheduler's rules (an empty key with Exists matches every key). */
function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect !== undefined && t.effect !== '' && t.effect !== taint.effect) return false;
  if ((t.operator ?? 'Equal') === 'Exists') return t.key === undefined || t.key === '' || t.key === taint.key;
  return t.key === taint.key && (t.value ?? '') === (taint.value ?? '');
}

describe('deploy/kubernetes manifests', () => {
  it('every manifest passes its schema', () => {
    expect(manifests.map((m) => `${m.file} ${String(m.body.kind)}`)).toHaveLength(6);
    expect(manifests.map(schemaProblem).filter((p) => p !== undefined)).toEqual([]);
  });

  // Type-checking takes a few seconds (more on a busy machine), hence the longer timeouts.
  it('no manifest has a field its kind does not define', { timeout: 60_000 }, () => {
    expect(unknownFieldProblems(manifests)).toEqual([]);
  });

  it('catches a misspelled field, a wrong type and a missing required field', { timeout: 60_000 }, () => {
    const daemonSet = structuredClone(manifests.find((m) => m.body.kind === 'DaemonSet')!);
    const container = daemonSet.body.spec.template.spec.containers[0];
    container.securityContxt = container.securityContext;
    delete container.securityContext;
    const monitor = structuredClone(manifests.find((m) => m.body.kind === 'ServiceMonitor')!);
    monitor.body.spec.endpoints[0].intervall = '30s';
    const problems = unknownFieldProblems([daemonSet, monitor]);
    expect(problems).toEqual([
      expect.stringMatching(/^daemonset\.yaml: .*"securityContxt".* does not exist in type 'IContainer'/),
      // prometheus-operator 4.x declares an endpoint's type inline, without a name.
      expect.stringMatching(/^servicemonitor\.yaml: .*"intervall".* does not exist in type '\{ authorization\?/),
    ]);

    const wrongType = structuredClone(manifests.find((m) => m.body.kind === 'DaemonSet')!);
    wrongType.body.spec.template.spec.containers[0].ports[0].containerPort = '9476';
    expect(schemaProblem(wrongType)).toMatch(/containerPort must be integer/);
    const missing = structuredClone(manifests.find((m) => m.body.kind === 'DaemonSet')!);
    delete missing.body.spec.selector;
    expect(schemaProblem(missing)).toMatch(/spec must have required property selector/);
  });

  it('the DaemonSet runs reclaimd unprivileged, with the socket, probes and limits', () => {
    const pod = one('DaemonSet').spec.template.spec;
    const container = pod.containers[0];
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001 });
    expect(pod.securityContext.supplementalGroups).toHaveLength(1);
    expect(container.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 10001,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    expect(container.resources.requests).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
    expect(container.resources.limits).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
    expect(container.ports).toEqual([{ name: 'metrics', containerPort: 9476, protocol: 'TCP' }]);
    for (const probe of [container.livenessProbe, container.readinessProbe])
      expect(probe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    const socket = pod.volumes.find((v: Json) => v.hostPath?.path === '/var/run/docker.sock');
    expect(socket.hostPath.type).toBe('Socket');
    expect(container.volumeMounts).toContainEqual({ name: socket.name, mountPath: '/var/run/docker.sock' });
    expect(container.args).toEqual(expect.arrayContaining(['--listen', '0.0.0.0:9476']));
  });

  it('the selectors connect DaemonSet, Service and ServiceMonitor', () => {
    const daemonSet = one('DaemonSet');
    const service = one('Service');
    const monitor = one('ServiceMonitor');
    const podLabels = daemonSet.spec.template.metadata.labels;
    expect(podLabels).toMatchObject(daemonSet.spec.selector.matchLabels);
    expect(podLabels).toMatchObject(service.spec.selector);
    expect(service.metadata.labels).toMatchObject(monitor.spec.selector.matchLabels);
    expect(service.spec.ports).toContainEqual(
      expect.objectContaining({ name: monitor.spec.endpoints[0].port, port: 9476, targetPort: 'metrics' }),
    );
    expect(monitor.spec.namespaceSelector.matchNames).toEqual([service.metadata.namespace]);
    // job="reclaimd" is what the alert rules and the dashboard select on.
    expect(service.metadata.name).toBe('reclaimd');
  });

  it('the ConfigMap, mounted as the DaemonSet mounts it, is a configuration reclaimd accepts', async () => {
    const result = await loadMountedConfig();
    expect(result.ok ? [] : result.problems).toEqual([]);
    if (result.ok) expect(result.value.policies.length).toBeGreaterThan(0);
    expect(parse(one('ConfigMap').data['config.yaml'])).toMatchObject({ mode: 'dry-run' });
  });

  it('the ConfigMap keeps state in the writable volume the DaemonSet mounts for it', async () => {
    const result = await loadMountedConfig();
    if (!result.ok) throw new Error(result.problems.map((p) => p.message).join('\n'));
    const pod = one('DaemonSet').spec.template.spec;
    const mount = pod.containers[0].volumeMounts.find((m: Json) => m.mountPath === result.value.stateDir);
    expect(mount, `a volume mounted at state.dir (${String(result.value.stateDir)})`).toBeDefined();
    expect(mount.readOnly).not.toBe(true);
    const volume = pod.volumes.find((v: Json) => v.name === mount.name);
    // Kubernetes mounts these read-only whatever the mount says.
    for (const readOnlyKind of ['configMap', 'secret', 'downwardAPI', 'projected'])
      expect(volume[readOnlyKind], `state volume "${volume.name}"`).toBeUndefined();
  });

  it('the namespace enforces the strictest Pod Security level the pod meets: privileged, for the socket alone', () => {
    const namespace = one('Namespace');
    const daemonSet = one('DaemonSet');
    const pod = daemonSet.spec.template.spec;
    // The socket is a hostPath volume, which "baseline" already forbids; nothing else departs
    // even from "restricted", and that is what keeps the pod as strict as it can be.
    expect(podSecurityViolations(pod, 'baseline')).toEqual(['hostPath volume "docker-socket"']);
    expect(podSecurityViolations(pod, 'restricted')).toEqual(['hostPath volume "docker-socket"']);
    expect(namespace.metadata.labels).toMatchObject({ 'pod-security.kubernetes.io/enforce': strictestLevel(pod) });
    expect(strictestLevel(pod)).toBe('privileged');
    for (const m of manifests.filter((x) => x.body.kind !== 'Namespace'))
      expect(m.body.metadata.namespace, m.file).toBe(namespace.metadata.name);
    // The checker does see a departure of the container itself.
    const loosened = structuredClone(pod);
    loosened.containers[0].securityContext.allowPrivilegeEscalation = true;
    loosened.containers[0].securityContext.privileged = true;
    expect(podSecurityViolations(loosened, 'restricted')).toEqual([
      'hostPath volume "docker-socket"',
      'privileged container "reclaimd"',
      'container "reclaimd" allows privilege escalation',
    ]);
  });

  it('the DaemonSet tolerates the taints of dedicated CI nodes, and is not evicted by them', () => {
    const pod = one('DaemonSet').spec.template.spec;
    const taints: Taint[] = [
      { key: 'ci', value: 'true', effect: 'NoSchedule' },
      { key: 'dedicated', value: 'runner', effect: 'NoExecute' },
      { key: 'gitlab-runner', effect: 'NoSchedule' },
      { key: 'node-role.kubernetes.io/build', effect: 'NoExecute' },
    ];
    for (const taint of taints)
      expect(
        (pod.tolerations ?? []).some((t: Toleration) => tolerates(t, taint)),
        `${taint.key}:${taint.effect}`,
      ).toBe(true);
    // A NoExecute toleration with tolerationSeconds would still evict the pod after that time.
    for (const t of pod.tolerations as Toleration[]) expect(t.tolerationSeconds).toBeUndefined();
    // The opt-in is the node label: the tolerations never place a pod on a node without it.
    expect(pod.nodeSelector).toMatchObject({ 'reclaimd.dev/docker-engine': 'true' });
  });

  it('kustomization.yaml lists every manifest', () => {
    const kustomization = parse(readFileSync(path.join(DIR, 'kustomization.yaml'), 'utf8')) as { resources: string[] };
    expect([...kustomization.resources].sort()).toEqual([...new Set(manifests.map((m) => m.file))].sort());
  });
});
