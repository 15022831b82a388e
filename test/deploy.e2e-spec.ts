import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { envSchema, isSecretSetting, isStoreSetting, loadConfig } from '@logsplit/common';
import { ROOT } from './support/infra';

/**
 * Static checks of the deployment files (no Docker engine or cluster is needed): the compose
 * file and the Kubernetes base are parsed and held to what docs/deploy.md promises.
 */

const SCHEMA_KEYS = new Set(Object.keys(envSchema.shape));
/** A setting of the schema, or the `_FILE` form of a secret one. */
const known = (k: string) => SCHEMA_KEYS.has(k) || (k.endsWith('_FILE') && isSecretSetting(k));
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
        (k) => !known(k) && !NON_LOGSPLIT_VARS.has(k),
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

  it('gives store settings and secrets only to the uploader and the command line', () => {
    for (const name of ['splitter', 'compressor', 'demo-producer']) {
      const store = Object.keys(s[name].environment ?? {}).filter(isStoreSetting);
      expect({ name, store }).toEqual({ name, store: [] });
    }
    for (const name of ['uploader', 'logsplit']) {
      for (const k of ['LOGSPLIT_STORE_DRIVER', 'OSS_ACCESS_KEY_SECRET', 'OSS_SECURITY_TOKEN']) {
        expect(s[name].environment).toHaveProperty([k]);
      }
    }
  });

  it('sends traces to Jaeger 2 over OTLP and shows its UI', () => {
    for (const name of SERVICES) {
      expect(envOf(name).OTEL_EXPORTER_OTLP_ENDPOINT).toMatch(/^http:\/\/jaeger:4318$/);
    }
    expect(s.jaeger.image).toMatch(/^jaegertracing\/jaeger:2\.\d+\.\d+$/);
    expect(s.jaeger.ports).toContain('16686:16686');
  });

  it('runs Prometheus, which finds every replica of every service on its metrics port', () => {
    const mount = (s.prometheus.volumes ?? []).find((v) => v.split(':')[1] === '/etc/prometheus');
    expect(mount?.split(':')[0]).toBe('./deploy/prometheus');
    const config = parse(readFileSync(join(ROOT, 'deploy/prometheus/prometheus.yml'), 'utf8')) as {
      rule_files: string[];
      scrape_configs: {
        honor_labels?: boolean;
        dns_sd_configs?: { names: string[]; type: string; port: number }[];
      }[];
    };
    // A records of a compose service name list all its replicas: no fixed names needed.
    const targets = config.scrape_configs.flatMap((c) =>
      (c.dns_sd_configs ?? []).flatMap((d) => d.names.map((n) => `${n}:${d.port}/${d.type}`)),
    );
    for (const name of SERVICES) {
      expect(targets).toContain(`${name}:${setting(envOf(name), 'LOGSPLIT_METRICS_PORT')}/A`);
    }
    expect(config.scrape_configs.every((c) => c.honor_labels)).toBe(true);
    expect(config.rule_files).toEqual(['alerts.yml']);
    expect(existsSync(join(ROOT, 'deploy/prometheus/alerts.yml'))).toBe(true);
  });

  it('runs Grafana with the Prometheus data source and the logsplit dashboard provisioned', () => {
    const mounts = Object.fromEntries(
      (s.grafana.volumes ?? []).map((v) => [v.split(':')[1], v.split(':')[0]] as const),
    );
    expect(mounts['/etc/grafana/provisioning']).toBe('./deploy/grafana/provisioning');
    const provisioning = join(ROOT, 'deploy/grafana/provisioning');
    const sources = parse(
      readFileSync(join(provisioning, 'datasources/prometheus.yml'), 'utf8'),
    ) as { datasources: { type: string; url: string }[] };
    expect(sources.datasources).toEqual([
      expect.objectContaining({ type: 'prometheus', url: 'http://prometheus:9090' }),
    ]);
    const providers = parse(
      readFileSync(join(provisioning, 'dashboards/logsplit.yml'), 'utf8'),
    ) as { providers: { options: { path: string } }[] };
    const path = providers.providers[0].options.path;
    const hostDir = mounts[path];
    expect(hostDir).toBe('./deploy/grafana/dashboards');
    expect(existsSync(join(ROOT, hostDir, 'logsplit.json'))).toBe(true);
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
  metadata: { name: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  automountServiceAccountToken?: boolean;
}

interface Kustomization {
  resources?: string[];
  configMapGenerator?: {
    name: string;
    files: string[];
    options?: { labels?: Record<string, string> };
  }[];
}

/**
 * The resources of a kustomization, as far as these tests need kustomize: files, directories
 * holding a kustomization (recursively), and ConfigMaps generated from files.
 */
function kustomize(dir: string): K8sDoc[] {
  const k = parse(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as Kustomization;
  const resources = (k.resources ?? []).flatMap((r) => {
    const path = join(dir, r);
    if (statSync(path).isDirectory()) return kustomize(path);
    return parseAllDocuments(readFileSync(path, 'utf8')).map((d) => d.toJS() as K8sDoc);
  });
  const generated = (k.configMapGenerator ?? []).map((g): K8sDoc => ({
    kind: 'ConfigMap',
    metadata: { name: g.name, labels: g.options?.labels },
    data: Object.fromEntries(
      g.files.map((f) => [basename(f), readFileSync(join(dir, f), 'utf8')] as const),
    ),
  }));
  return [...resources, ...generated];
}

describe('Kubernetes base (kustomize)', () => {
  const docs = kustomize(join(ROOT, 'deploy/k8s/base'));
  const find = (kind: string, name: string) => {
    const d = docs.find((x) => x.kind === kind && x.metadata.name === name);
    if (!d) throw new Error(`no ${kind} ${name} in deploy/k8s/base`);
    return d;
  };
  const config = find('ConfigMap', 'logsplit-config').data!;
  type Container = {
    args: string[];
    env?: { name: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
    envFrom: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
    livenessProbe?: { grpc?: { port: number } };
    readinessProbe?: { grpc?: { port: number } };
    resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
    volumeMounts?: { name: string; mountPath: string }[];
  };
  type PodSpec = {
    containers: Container[];
    securityContext?: { runAsNonRoot?: boolean };
    volumes?: {
      name: string;
      persistentVolumeClaim?: { claimName: string };
      secret?: { secretName: string; items: { key: string; path: string }[] };
    }[];
    serviceAccountName?: string;
    automountServiceAccountToken?: boolean;
  };
  type PodTemplate = { metadata: { labels: Record<string, string> }; spec: PodSpec };
  const template = (d: K8sDoc) => (d.spec as { template: PodTemplate }).template;
  const pod = (svc: string) => template(find('Deployment', `logsplit-${svc}`)).spec;
  const deployments = docs.filter((d) => d.kind === 'Deployment');

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
        authenticationRef: { name: 'logsplit-kafka' },
        metadata: expect.objectContaining({
          bootstrapServers: config.KAFKA_BROKERS,
          consumerGroup: setting(config, GROUP[svc]),
          topic: setting(config, INPUT_TOPIC[svc]),
          lagThreshold: expect.stringMatching(/^\d+$/),
        }),
      });
    }
  });

  /** Secret key → the file path a service reads it from (its mounted `secret` volume). */
  const mountedSecret = (svc: string, secretName: string): Record<string, string> => {
    const spec = pod(svc);
    const out: Record<string, string> = {};
    for (const v of spec.volumes ?? []) {
      if (v.secret?.secretName !== secretName) continue;
      const mount = spec.containers[0].volumeMounts?.find((m) => m.name === v.name);
      for (const item of v.secret.items) out[item.key] = `${mount?.mountPath}/${item.path}`;
    }
    return out;
  };

  it('authenticates services and KEDA to Kafka from one Secret: SASL_SSL, password and CA files', () => {
    expect(config.KAFKA_SECURITY_PROTOCOL).toBe('SASL_SSL');
    const auth = find('TriggerAuthentication', 'logsplit-kafka').spec as {
      secretTargetRef: { parameter: string; name: string; key: string }[];
    };
    expect(auth.secretTargetRef.map((r) => `${r.parameter}=${r.name}/${r.key}`).sort()).toEqual(
      ['ca', 'password', 'sasl', 'tls', 'username'].map((k) => `${k}=logsplit-kafka/${k}`),
    );
    for (const svc of SERVICES) {
      const so = find('ScaledObject', `logsplit-${svc}`).spec as {
        triggers: { type: string; authenticationRef?: { name: string } }[];
      };
      for (const t of so.triggers) expect(t.authenticationRef).toEqual({ name: 'logsplit-kafka' });
      const files = mountedSecret(svc, 'logsplit-kafka');
      expect({ svc, password: files.password, ca: files.ca }).toEqual({
        svc,
        password: config.KAFKA_SASL_PASSWORD_FILE,
        ca: config.KAFKA_SSL_CA_FILE,
      });
      expect(pod(svc).containers[0].env).toEqual(
        expect.arrayContaining([
          {
            name: 'KAFKA_SASL_USERNAME',
            valueFrom: { secretKeyRef: { name: 'logsplit-kafka', key: 'username' } },
          },
        ]),
      );
    }
  });

  it('sets only variables the config schema knows; OSS keys come from a Secret', () => {
    const store = find('ConfigMap', 'logsplit-store').data!;
    for (const data of [config, store]) {
      expect(Object.keys(data).filter((k) => !known(k))).toEqual([]);
      expect(Object.keys(data).filter((k) => /SECRET|KEY_ID|TOKEN|PASSWORD$/.test(k))).toEqual([]);
    }
    // The mounted Kafka Secret, stood in for by temp files at the same names.
    const mount = mkdtempSync(join(tmpdir(), 'k8s-secret-'));
    writeFileSync(join(mount, 'password'), 'pw');
    writeFileSync(
      join(mount, 'ca.pem'),
      '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
    );
    const remap = (path: string) => path.replace(dirname(config.KAFKA_SSL_CA_FILE), mount);
    const kafka = {
      KAFKA_SASL_USERNAME: 'logsplit',
      KAFKA_SASL_PASSWORD_FILE: remap(config.KAFKA_SASL_PASSWORD_FILE),
      KAFKA_SSL_CA_FILE: remap(config.KAFKA_SSL_CA_FILE),
    };
    const secrets = { OSS_ACCESS_KEY_ID: 'id', OSS_ACCESS_KEY_SECRET: 'secret' };
    expect(() =>
      loadConfig('uploader', { ...config, ...store, ...secrets, ...kafka }),
    ).not.toThrow();
    for (const svc of SERVICES) {
      expect(() => loadConfig(svc, { ...config, ...secrets, ...kafka })).not.toThrow();
    }
    // The Redis password: a file from the Secret logsplit-redis, for the services using Redis.
    for (const svc of ['compressor', 'uploader']) {
      const spec = pod(svc) as unknown as {
        containers: (Omit<Container, 'env'> & { env?: { name: string; value?: string }[] })[];
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

  it('gives store settings, OSS secrets and the RRSA identity to the uploader only', () => {
    expect(Object.keys(config).filter(isStoreSetting)).toEqual([]);
    expect(pod('uploader').containers[0].envFrom).toEqual(
      expect.arrayContaining([
        { configMapRef: { name: 'logsplit-store' } },
        { secretRef: { name: 'logsplit-oss', optional: true } },
      ]),
    );
    for (const svc of ['splitter', 'compressor']) {
      const refs = pod(svc).containers[0].envFrom.map(
        (r) => r.configMapRef?.name ?? r.secretRef?.name,
      );
      expect({ svc, refs: refs.filter((r) => /store|oss/.test(r ?? '')) }).toEqual({
        svc,
        refs: [],
      });
    }
    type Account = K8sDoc & { metadata: { annotations?: Record<string, string> } };
    const roleOf = (svc: string) =>
      (find('ServiceAccount', pod(svc).serviceAccountName!) as Account).metadata.annotations?.[
        'pod-identity.alibabacloud.com/role-name'
      ];
    expect(roleOf('uploader')).toMatch(/\S/);
    for (const svc of ['splitter', 'compressor'])
      expect({ svc, role: roleOf(svc) }).toEqual({ svc });
  });

  it('runs every pod as a ServiceAccount that mounts no API token', () => {
    for (const name of ['logsplit', 'logsplit-uploader']) {
      expect(find('ServiceAccount', name).automountServiceAccountToken).toBe(false);
    }
    for (const d of deployments) {
      const spec = template(d).spec;
      expect({
        d: d.metadata.name,
        sa: spec.serviceAccountName,
        token: spec.automountServiceAccountToken,
      }).toEqual({
        d: d.metadata.name,
        // The uploader's own carries its OSS role (RRSA); the others have no cloud identity.
        sa: d.metadata.name === 'logsplit-uploader' ? 'logsplit-uploader' : 'logsplit',
        token: false,
      });
    }
  });

  it('gives every Deployment exactly one PodDisruptionBudget, which lets a drain go pod by pod', () => {
    const pdbs = docs.filter((d) => d.kind === 'PodDisruptionBudget');
    expect(deployments.length).toBe(SERVICES.length);
    for (const d of deployments) {
      const labels = template(d).metadata.labels;
      const mine = pdbs.filter((p) => selects((p.spec as { selector: Selector }).selector, labels));
      // Kubernetes refuses to evict a pod that more than one budget selects.
      expect({ d: d.metadata.name, budgets: mine.length }).toEqual({
        d: d.metadata.name,
        budgets: 1,
      });
      // maxUnavailable, not minAvailable: a KEDA-scaled single replica must not block a drain.
      expect(mine[0].spec).toEqual(expect.objectContaining({ maxUnavailable: 1 }));
      expect(mine[0].spec).not.toHaveProperty('minAvailable');
    }
  });

  it('lets in only health and metrics traffic, from monitoring; lets out only what the services use', () => {
    type Port = { port: number; protocol: string };
    type Rule = { from?: Record<string, unknown>[]; to?: unknown[]; ports: Port[] };
    const policies = docs.filter((d) => d.kind === 'NetworkPolicy');
    for (const d of deployments) {
      const labels = template(d).metadata.labels;
      const mine = policies.filter((p) =>
        selects((p.spec as { podSelector: Selector }).podSelector, labels),
      );
      expect({ d: d.metadata.name, policies: mine.length }).toEqual({
        d: d.metadata.name,
        policies: 1,
      });
      const spec = mine[0].spec as {
        policyTypes: string[];
        ingress: Rule[];
        egress: Rule[];
      };
      expect(spec.policyTypes.sort()).toEqual(['Egress', 'Ingress']);
      // Ingress: the health and metrics ports only, and never from anywhere.
      const ingressPorts = spec.ingress.flatMap((r) => r.ports.map((p) => p.port)).sort();
      const health = Number(setting(config, 'LOGSPLIT_HEALTH_PORT'));
      const metrics = Number(setting(config, 'LOGSPLIT_METRICS_PORT'));
      expect(ingressPorts).toEqual([health, metrics].sort());
      for (const r of spec.ingress) {
        expect(r.from?.length).toBeGreaterThan(0);
        expect(JSON.stringify(r.from)).toMatch(/monitoring|prometheus/);
      }
      // Egress: the ports of the configured Kafka, Redis, object store and OTLP endpoints, DNS.
      const egress = new Set(
        spec.egress.flatMap((r) => r.ports.map((p) => `${p.port}/${p.protocol}`)),
      );
      const wanted = [
        ...config.KAFKA_BROKERS.split(',').map((b) => Number(b.split(':').pop())),
        portOf(config.REDIS_URL),
        portOf(find('ConfigMap', 'logsplit-store').data!.OSS_ENDPOINT),
        portOf(config.OTEL_EXPORTER_OTLP_ENDPOINT),
      ].map((p) => `${p}/TCP`);
      expect([...egress]).toEqual(expect.arrayContaining([...wanted, '53/UDP', '53/TCP']));
    }
  });

  it("keeps the uploader up long enough to seal and upload the night's last segments", () => {
    const so = find('ScaledObject', 'logsplit-uploader').spec as {
      cooldownPeriod: number;
      triggers: { metadata: Record<string, string> }[];
    };
    // It seals a segment LOGSPLIT_SEGMENT_MAX_AGE_MS after it opened, on a pass every
    // LOGSPLIT_UPLOAD_INTERVAL_MS, and nothing on its own topic announces that: the cooldown
    // after the compressor's last work must cover both.
    const ageS = Number(setting(config, 'LOGSPLIT_SEGMENT_MAX_AGE_MS')) / 1000;
    const intervalS = Number(setting(config, 'LOGSPLIT_UPLOAD_INTERVAL_MS')) / 1000;
    expect(so.cooldownPeriod).toBeGreaterThanOrEqual(ageS + intervalS);
    expect(so.triggers.map((tr) => tr.metadata.consumerGroup)).toContain(
      setting(config, 'LOGSPLIT_COMPRESSOR_GROUP'),
    );
  });

  it('ships the alert rules and the Grafana dashboard as ConfigMaps made from the same files', () => {
    const rules = find('ConfigMap', 'logsplit-prometheus-rules').data!;
    expect(rules['alerts.yml']).toBe(
      readFileSync(join(ROOT, 'deploy/prometheus/alerts.yml'), 'utf8'),
    );
    const dashboard = find('ConfigMap', 'logsplit-grafana-dashboard');
    expect(dashboard.metadata.labels).toEqual({ grafana_dashboard: '1' });
    expect(JSON.parse(dashboard.data!['logsplit.json'])).toHaveProperty('uid', 'logsplit');
  });
});

type Selector = {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
};

/** Whether a Kubernetes label selector selects these labels (an empty selector selects all). */
function selects(sel: Selector, labels: Record<string, string>): boolean {
  const byLabel = Object.entries(sel.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const byExpr = (sel.matchExpressions ?? []).every((e) => {
    const has = e.key in labels;
    switch (e.operator) {
      case 'In':
        return has && (e.values ?? []).includes(labels[e.key]);
      case 'NotIn':
        return !has || !(e.values ?? []).includes(labels[e.key]);
      case 'Exists':
        return has;
      case 'DoesNotExist':
        return !has;
      default:
        throw new Error(`unknown selector operator ${e.operator}`);
    }
  });
  return byLabel && byExpr;
}

/** The TCP port of a URL, with the scheme's default. */
function portOf(url: string): number {
  const u = new URL(url);
  if (u.port) return Number(u.port);
  const defaults: Record<string, number> = {
    'https:': 443,
    'http:': 80,
    'redis:': 6379,
    'rediss:': 6379,
  };
  return defaults[u.protocol];
}
