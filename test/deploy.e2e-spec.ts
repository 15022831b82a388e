import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { envSchema, loadConfig, SECRET_SETTINGS } from '@logsplit/common';
import { ROOT } from './support/infra';

/**
 * Static checks of the deployment files (no Docker engine or cluster is needed): the compose
 * file and the Kubernetes base are parsed and held to what docs/deploy.md promises.
 */

const SCHEMA_KEYS = new Set([
  ...Object.keys(envSchema.shape),
  ...SECRET_SETTINGS.map((name) => `${name}_FILE`),
]);
/**
 * Variables a logsplit container may set that are not logsplit settings. Kept empty on purpose:
 * Node and OpenTelemetry variables logsplit reads are in the schema. Third-party containers
 * (Kafka, Redis, Jaeger) are not checked: their variables are their images' business.
 */
const NON_LOGSPLIT_VARS = new Set<string>([]);
const SERVICES = ['splitter', 'compressor', 'uploader'] as const;
const INPUT_TOPIC = {
  splitter: 'LOGSPLIT_TOPIC_RAW',
  compressor: 'LOGSPLIT_TOPIC_BY_APP',
  uploader: 'LOGSPLIT_TOPIC_SEGMENTS',
} as const;
const GROUP = {
  splitter: 'LOGSPLIT_SPLITTER_GROUP',
  compressor: 'LOGSPLIT_COMPRESSOR_GROUP',
  uploader: 'LOGSPLIT_UPLOADER_GROUP',
} as const;

/** What the settings resolve to when nothing overrides them (compose `${X:-default}`). */
function resolveCompose(env: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (v === null || v === undefined) continue; // passed through from the shell when set there
    const text = typeof v === 'string' ? v : JSON.stringify(v);
    out[k] = text.replace(/\$\{[A-Z0-9_]+:-([^}]*)\}/g, '$1');
  }
  return out;
}

/** The value a service runs with: set explicitly, or the schema's default. */
function setting(env: Record<string, string>, name: string): string {
  if (env[name] !== undefined) return env[name];
  const parsed = envSchema.shape[name as keyof typeof envSchema.shape].parse(undefined) as unknown;
  return String(parsed);
}

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  entrypoint?: string[];
  environment?: Record<string, unknown>;
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  volumes?: string[];
  ports?: unknown[];
  container_name?: string;
  restart?: string;
  profiles?: string[];
}

describe('docker compose', () => {
  const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), {
    merge: true,
  }) as { services: Record<string, ComposeService>; volumes: Record<string, unknown> };
  const s = compose.services;
  const ours = Object.entries(s).filter(([, svc]) => svc.image === 'logsplit:local');
  const envOf = (name: string) => resolveCompose(s[name].environment ?? {});

  it('has Kafka (KRaft), Redis, Jaeger, topic creation, the services, a demo producer', () => {
    for (const name of [
      'kafka',
      'redis',
      'jaeger',
      'topics',
      ...SERVICES,
      'demo-producer',
      'logsplit',
    ]) {
      expect(s).toHaveProperty([name]);
    }
    const kafka = s.kafka.environment as Record<string, string>;
    expect(kafka.KAFKA_PROCESS_ROLES).toBe('broker,controller');
    expect(Object.keys(kafka).filter((k) => /ZOOKEEPER/.test(k))).toEqual([]);
    expect(s['demo-producer'].command).toEqual(expect.arrayContaining(['produce-demo']));
  });

  it('builds one image for everything from the Dockerfile, and runs built entry points', () => {
    expect(ours.map(([n]) => n).sort()).toEqual(
      ['compressor', 'demo-producer', 'logsplit', 'splitter', 'uploader'].sort(),
    );
    for (const [name, svc] of ours) {
      expect({ name, build: svc.build }).toMatchObject({ name, build: { context: '.' } });
      const args = [...(svc.entrypoint ?? []), ...[svc.command ?? []].flat()];
      const main = args.find((a) => /^dist\/.*\.js$/.test(a));
      expect({ name, main }).toEqual({ name, main: expect.any(String) });
      expect(existsSync(join(ROOT, main!.replace(/^dist\//, '').replace(/\.js$/, '.ts')))).toBe(
        true,
      );
    }
  });

  it('creates the topics once, with partitions to scale into, before any service starts', () => {
    expect(s.topics.restart).toBe('no');
    const script = [s.topics.command ?? []].flat().join('\n');
    const partitions = new Map<string, number>();
    for (const m of script.matchAll(/create\s+(\S+)\s+(\d+)/g)) partitions.set(m[1], Number(m[2]));
    const env = envOf('splitter');
    for (const t of [
      'LOGSPLIT_TOPIC_RAW',
      'LOGSPLIT_TOPIC_BY_APP',
      'LOGSPLIT_TOPIC_SEGMENTS',
      'LOGSPLIT_TOPIC_DLQ',
    ]) {
      expect({ t, partitions: partitions.get(setting(env, t)) }).toEqual({
        t,
        partitions: expect.any(Number),
      });
    }
    // --scale compressor=4 --scale splitter=2 (and well beyond) all get partitions.
    expect(partitions.get(setting(env, 'LOGSPLIT_TOPIC_RAW'))).toBeGreaterThanOrEqual(4);
    expect(partitions.get(setting(env, 'LOGSPLIT_TOPIC_BY_APP'))).toBeGreaterThanOrEqual(4);
    for (const name of [...SERVICES, 'demo-producer']) {
      expect(s[name].depends_on?.topics).toEqual({
        condition: 'service_completed_successfully',
      });
    }
  });

  it('checks each service through its gRPC health endpoint', () => {
    for (const name of SERVICES) {
      const port = setting(envOf(name), 'LOGSPLIT_HEALTH_PORT');
      expect({ name, test: s[name].healthcheck?.test }).toEqual({
        name,
        test: ['CMD', 'node', 'dist/scripts/health-probe.js', `127.0.0.1:${port}`],
      });
    }
    expect(existsSync(join(ROOT, 'scripts/health-probe.ts'))).toBe(true);
  });

  it('can scale every logsplit service: no container names, no host ports', () => {
    for (const [name, svc] of ours) {
      expect({ name, container_name: svc.container_name, ports: svc.ports }).toEqual({ name });
    }
  });

  it('sets only variables the config schema knows, with values it accepts', () => {
    for (const [name, svc] of ours) {
      const unknown = Object.keys(svc.environment ?? {}).filter(
        (k) => !SCHEMA_KEYS.has(k) && !NON_LOGSPLIT_VARS.has(k),
      );
      expect({ name, unknown }).toEqual({ name, unknown: [] });
      expect(() => loadConfig(name, resolveCompose(svc.environment ?? {}))).not.toThrow();
    }
  });

  it('keeps the spool and the fs bucket on named volumes; OSS comes through the environment', () => {
    expect(Object.keys(compose.volumes)).toEqual(expect.arrayContaining(['spool', 'bucket']));
    /** Mount path → volume name. */
    const mounts = (name: string): Record<string, string> =>
      Object.fromEntries(
        (s[name].volumes ?? []).map((v) => [v.split(':')[1], v.split(':')[0]] as const),
      );
    for (const name of ['compressor', 'uploader']) {
      expect(mounts(name)[setting(envOf(name), 'LOGSPLIT_SPOOL_DIR')]).toBe('spool');
    }
    expect(mounts('uploader')[setting(envOf('uploader'), 'LOGSPLIT_STORE_FS_ROOT')]).toBe('bucket');
    expect(mounts('logsplit')[setting(envOf('logsplit'), 'LOGSPLIT_STORE_FS_ROOT')]).toBe('bucket');
    expect(setting(envOf('uploader'), 'LOGSPLIT_STORE_DRIVER')).toBe('fs');
    for (const k of ['OSS_ENDPOINT', 'OSS_BUCKET', 'OSS_ACCESS_KEY_ID', 'OSS_ACCESS_KEY_SECRET']) {
      expect(s.uploader.environment).toHaveProperty([k], null);
    }
    expect(s.uploader.environment?.LOGSPLIT_STORE_DRIVER).toMatch(/^\$\{LOGSPLIT_STORE_DRIVER:-/);
  });

  it('sends traces to Jaeger over OTLP and shows its UI', () => {
    for (const name of SERVICES) {
      expect(envOf(name).OTEL_EXPORTER_OTLP_ENDPOINT).toMatch(/^http:\/\/jaeger:4318$/);
    }
    expect(s.jaeger.ports).toContain('16686:16686');
  });

  it('builds a small image that runs as a non-root user', () => {
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    const stages = dockerfile.split(/^FROM /m).slice(1);
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const final = stages[stages.length - 1];
    expect(final).toMatch(/^USER (?!root\b|0\b)\S+/m);
    expect(final).toMatch(/npm ci --omit=dev|--from=deps/);
    const ignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n');
    for (const p of ['node_modules', 'dist', '.git', '.cache']) expect(ignore).toContain(p);
  });
});

interface K8sDoc {
  kind: string;
  metadata: { name: string };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
}

describe('Kubernetes base (kustomize)', () => {
  const base = join(ROOT, 'deploy/k8s/base');
  const kustomization = parse(readFileSync(join(base, 'kustomization.yaml'), 'utf8')) as {
    resources: string[];
  };
  const docs: K8sDoc[] = kustomization.resources.flatMap((file) =>
    parseAllDocuments(readFileSync(join(base, file), 'utf8')).map((d) => d.toJS() as K8sDoc),
  );
  const find = (kind: string, name: string) => {
    const d = docs.find((x) => x.kind === kind && x.metadata.name === name);
    if (!d) throw new Error(`no ${kind} ${name} in deploy/k8s/base`);
    return d;
  };
  const config = find('ConfigMap', 'logsplit-config').data!;
  type Container = {
    args: string[];
    envFrom: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
    livenessProbe?: { grpc?: { port: number } };
    readinessProbe?: { grpc?: { port: number } };
    resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
    volumeMounts?: { name: string; mountPath: string }[];
  };
  type PodSpec = {
    containers: Container[];
    securityContext?: { runAsNonRoot?: boolean };
    volumes?: { name: string; persistentVolumeClaim?: { claimName: string } }[];
  };
  const pod = (svc: string) =>
    (find('Deployment', `logsplit-${svc}`).spec as { template: { spec: PodSpec } }).template.spec;

  it('has a Deployment per service running its entry point with the shared settings', () => {
    for (const svc of SERVICES) {
      const c = pod(svc).containers[0];
      expect(c.args).toEqual([`dist/apps/${svc}/src/main.js`]);
      expect(c.envFrom).toEqual(
        expect.arrayContaining([{ configMapRef: { name: 'logsplit-config' } }]),
      );
      expect(pod(svc).securityContext?.runAsNonRoot).toBe(true);
    }
  });

  it('probes liveness and readiness over gRPC health, with requests and limits', () => {
    const port = Number(setting(config, 'LOGSPLIT_HEALTH_PORT'));
    for (const svc of SERVICES) {
      const c = pod(svc).containers[0];
      expect({ svc, live: c.livenessProbe?.grpc, ready: c.readinessProbe?.grpc }).toEqual({
        svc,
        live: { port },
        ready: { port },
      });
      for (const r of ['cpu', 'memory']) {
        expect({ svc, r, req: c.resources?.requests?.[r], lim: c.resources?.limits?.[r] }).toEqual({
          svc,
          r,
          req: expect.any(String),
          lim: expect.any(String),
        });
      }
    }
  });

  it('shares one ReadWriteMany spool volume between compressors and uploaders', () => {
    const claims = ['compressor', 'uploader'].map((svc) => {
      const spec = pod(svc);
      const mount = spec.containers[0].volumeMounts?.find(
        (m) => m.mountPath === config.LOGSPLIT_SPOOL_DIR,
      );
      return spec.volumes?.find((v) => v.name === mount?.name)?.persistentVolumeClaim?.claimName;
    });
    expect(claims[0]).toBeDefined();
    expect(claims[1]).toBe(claims[0]);
    const pvc = find('PersistentVolumeClaim', claims[0]!).spec as { accessModes: string[] };
    expect(pvc.accessModes).toEqual(['ReadWriteMany']);
  });

  it('scales each service with KEDA on its consumer lag, down to zero', () => {
    for (const svc of SERVICES) {
      const so = find('ScaledObject', `logsplit-${svc}`).spec as {
        scaleTargetRef: { name: string };
        minReplicaCount: number;
        maxReplicaCount: number;
        triggers: { type: string; metadata: Record<string, string> }[];
      };
      expect(so.scaleTargetRef.name).toBe(`logsplit-${svc}`);
      expect(so.minReplicaCount).toBe(0);
      expect(so.maxReplicaCount).toBeLessThanOrEqual(Number(config.LOGSPLIT_TOPIC_PARTITIONS));
      expect(so.triggers[0]).toEqual({
        type: 'kafka',
        metadata: expect.objectContaining({
          bootstrapServers: config.KAFKA_BROKERS,
          consumerGroup: setting(config, GROUP[svc]),
          topic: setting(config, INPUT_TOPIC[svc]),
          lagThreshold: expect.stringMatching(/^\d+$/),
        }),
      });
    }
  });

  it('sets only variables the config schema knows; OSS keys come from a Secret', () => {
    expect(Object.keys(config).filter((k) => !SCHEMA_KEYS.has(k))).toEqual([]);
    expect(Object.keys(config).filter((k) => /SECRET|KEY_ID/.test(k))).toEqual([]);
    const secrets = { OSS_ACCESS_KEY_ID: 'id', OSS_ACCESS_KEY_SECRET: 'secret' };
    for (const svc of SERVICES) {
      expect(() => loadConfig(svc, { ...config, ...secrets })).not.toThrow();
      expect(pod(svc).containers[0].envFrom).toEqual(
        expect.arrayContaining([{ secretRef: { name: 'logsplit-oss' } }]),
      );
    }
    // The Redis password: a file from the Secret logsplit-redis, for the services using Redis.
    for (const svc of ['compressor', 'uploader']) {
      const spec = pod(svc) as unknown as {
        containers: (Container & { env?: { name: string; value: string }[] })[];
        volumes?: { name: string; secret?: { secretName: string } }[];
      };
      const file = spec.containers[0].env?.find((e) => e.name === 'REDIS_PASSWORD_FILE')?.value;
      const mount = spec.containers[0].volumeMounts?.find((m) =>
        file?.startsWith(`${m.mountPath}/`),
      );
      expect(spec.volumes?.find((v) => v.name === mount?.name)?.secret?.secretName).toBe(
        'logsplit-redis',
      );
    }
  });
});
