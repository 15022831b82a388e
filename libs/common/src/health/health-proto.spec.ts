import {
  credentials,
  makeGenericClientConstructor,
  Server,
  ServerCredentials,
  ServiceError,
} from '@grpc/grpc-js';
import { HealthImplementation, service as referenceService } from 'grpc-health-check';
import { checkHealth, watchHealth } from './check-health';
import {
  decodeCheckRequest,
  healthService,
  HealthListResponse,
  ServingStatus,
} from './health-proto';
import { HealthServer, startHealthServer } from './health-server';
import { HealthState } from './health-state';

// grpc-health-check's definition comes from the .proto through protobufjs: the reference.
const STATUSES: ServingStatus[] = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];
const NAMES = ['', 'kafka', 'a-much-longer-service-name-'.repeat(10), 'ünï 名前'];

describe('grpc.health.v1 messages, against the .proto compiled by protobufjs', () => {
  const ours = healthService;
  const ref = referenceService;

  it('encodes requests and responses byte for byte alike', () => {
    for (const service of NAMES) {
      expect(ours.Check.requestSerialize({ service })).toEqual(
        ref.Check.requestSerialize({ service }),
      );
    }
    for (const status of STATUSES) {
      expect(ours.Check.responseSerialize({ status })).toEqual(
        ref.Check.responseSerialize({ status }),
      );
    }
    const list = { statuses: { '': { status: 'UNKNOWN' }, kafka: { status: 'SERVING' } } };
    expect(ours.List.responseSerialize(list)).toEqual(ref.List.responseSerialize(list));
  });

  it('decodes what the reference encodes, and the other way round', () => {
    for (const service of NAMES) {
      expect(ours.Check.requestDeserialize(ref.Check.requestSerialize({ service }))).toEqual({
        service,
      });
      expect(ref.Check.requestDeserialize(ours.Check.requestSerialize({ service }))).toEqual({
        service,
      });
    }
    for (const status of STATUSES) {
      expect(ours.Watch.responseDeserialize(ref.Watch.responseSerialize({ status }))).toEqual({
        status,
      });
      expect(ref.Watch.responseDeserialize(ours.Watch.responseSerialize({ status }))).toEqual({
        status,
      });
    }
    const list: HealthListResponse = {
      statuses: Object.fromEntries(NAMES.map((n, i) => [n, { status: STATUSES[i % 4] }])),
    };
    expect(ours.List.responseDeserialize(ref.List.responseSerialize(list))).toEqual(list);
    expect(ref.List.responseDeserialize(ours.List.responseSerialize(list))).toEqual(list);
  });

  it('skips fields it does not know and rejects truncated bytes', () => {
    // field 2 = varint 7, field 3 = fixed64, field 1 = "x", field 4 = fixed32
    const extra = Buffer.from('1007' + '190101010101010101' + '0a0178' + '2501020304', 'hex');
    expect(decodeCheckRequest(extra)).toEqual({ service: 'x' });
    expect(() => decodeCheckRequest(Buffer.from('0a0578', 'hex'))).toThrow(/truncated/);
  });
});

type Done<T> = (err: ServiceError | null, res?: T) => void;
interface Client {
  check(req: { service: string }, cb: Done<{ status: string }>): void;
  list(req: object, cb: Done<{ statuses: Record<string, { status: string }> }>): void;
  close(): void;
}
const clientOf = (definition: typeof healthService, address: string) =>
  new (
    makeGenericClientConstructor(definition, 'Health') as unknown as new (
      a: string,
      c: ReturnType<typeof credentials.createInsecure>,
    ) => Client
  )(address, credentials.createInsecure());
const call = <T>(f: (cb: Done<T>) => void) =>
  new Promise<T>((res, rej) => f((err, r) => (err ? rej(err) : res(r!))));

describe('the health server, seen by a client of the reference definition', () => {
  let state: HealthState;
  let server: HealthServer;
  let client: Client;

  beforeEach(async () => {
    state = new HealthState(['kafka', 'redis']);
    server = await startHealthServer(state, '127.0.0.1', 0);
    client = clientOf(referenceService, `127.0.0.1:${server.port}`);
  });
  afterEach(async () => {
    client.close();
    await server.close();
  });

  it('answers Check, NOT_FOUND for an unknown name, and List', async () => {
    state.set('kafka', true);
    expect(await call((cb) => client.check({ service: 'kafka' }, cb))).toEqual({
      status: 'SERVING',
    });
    expect(await call((cb) => client.check({ service: '' }, cb))).toEqual({
      status: 'NOT_SERVING',
    });
    await expect(call((cb) => client.check({ service: 'store' }, cb))).rejects.toMatchObject({
      code: 5,
    });
    expect(await call((cb) => client.list({}, cb))).toEqual({
      statuses: {
        '': { status: 'NOT_SERVING' },
        kafka: { status: 'SERVING' },
        redis: { status: 'NOT_SERVING' },
      },
    });
  });
});

describe('checkHealth and watchHealth, against the reference server', () => {
  let server: Server;
  let impl: HealthImplementation;
  let address: string;

  beforeEach(async () => {
    server = new Server();
    impl = new HealthImplementation({ '': 'NOT_SERVING', kafka: 'SERVING' });
    impl.addToServer(server);
    const port = await new Promise<number>((res, rej) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) =>
        e ? rej(e) : res(p),
      ),
    );
    address = `127.0.0.1:${port}`;
  });
  afterEach(() => server.forceShutdown());

  it('reads Check, SERVICE_UNKNOWN and a Watch stream', async () => {
    expect(await checkHealth(address)).toBe('NOT_SERVING');
    expect(await checkHealth(address, 'kafka')).toBe('SERVING');
    expect(await checkHealth(address, 'nope')).toBe('SERVICE_UNKNOWN');
    const watch = watchHealth(address);
    const unknown = watchHealth(address, 'nope');
    try {
      await watch.next('NOT_SERVING', 2000);
      impl.setStatus('', 'SERVING');
      await watch.next('SERVING', 2000);
      await unknown.next('SERVICE_UNKNOWN', 2000);
      expect(watch.seen).toEqual(['NOT_SERVING', 'SERVING']);
    } finally {
      watch.cancel();
      unknown.cancel();
    }
  });

  it('lists through our definition', async () => {
    const client = clientOf(healthService, address);
    try {
      expect(await call((cb) => client.list({}, cb))).toEqual({
        statuses: { '': { status: 'NOT_SERVING' }, kafka: { status: 'SERVING' } },
      });
    } finally {
      client.close();
    }
  });
});
