import { credentials, makeGenericClientConstructor, ServiceError, status } from '@grpc/grpc-js';
import { healthService } from './health-proto';

/** What grpc.health.v1 reports, plus SERVICE_UNKNOWN for a name the server does not know. */
export type HealthStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

interface HealthResponse {
  status: HealthStatus;
}

interface HealthClient {
  check(
    req: { service: string },
    opts: { deadline: number },
    cb: (err: ServiceError | null, res?: HealthResponse) => void,
  ): void;
  watch(req: { service: string }): NodeJS.EventEmitter & { cancel(): void };
  close(): void;
}

type HealthClientConstructor = new (
  address: string,
  creds: ReturnType<typeof credentials.createInsecure>,
) => HealthClient;

const HealthClientCtor = makeGenericClientConstructor(
  healthService,
  'Health',
) as unknown as HealthClientConstructor;

/**
 * One grpc.health.v1 Check against `address` (host:port); `service` '' = the whole service, or
 * a component: kafka, redis, store. Resolves with the status; rejects when the server cannot be
 * reached within timeoutMs, or with SERVICE_UNKNOWN-like NOT_FOUND for an unknown component.
 */
export async function checkHealth(
  address: string,
  service = '',
  timeoutMs = 3000,
): Promise<HealthStatus> {
  const client = new HealthClientCtor(address, credentials.createInsecure());
  try {
    return await new Promise<HealthStatus>((res, rej) =>
      client.check({ service }, { deadline: Date.now() + timeoutMs }, (err, r) => {
        if (err?.code === status.NOT_FOUND) res('SERVICE_UNKNOWN');
        else if (err || !r) rej(err ?? new Error('empty health response'));
        else res(r.status);
      }),
    );
  } finally {
    client.close();
  }
}

export interface HealthWatch {
  /** Every status the server streamed, in order (the first is the current one). */
  readonly seen: HealthStatus[];
  /** Resolves when the stream delivers `wanted` (now or later), rejects after timeoutMs. */
  next(wanted: HealthStatus, timeoutMs: number): Promise<void>;
  cancel(): void;
}

/** A grpc.health.v1 Watch stream: the server sends the status now and on every change. */
export function watchHealth(address: string, service = ''): HealthWatch {
  const client = new HealthClientCtor(address, credentials.createInsecure());
  const call = client.watch({ service });
  const seen: HealthStatus[] = [];
  const waiters = new Set<() => void>();
  let consumed = 0;
  call.on('data', (r: HealthResponse) => {
    seen.push(r.status);
    for (const w of [...waiters]) w();
  });
  call.on('error', () => undefined); // CANCELLED after cancel(); a broken stream shows as a timeout
  return {
    seen,
    next(wanted, timeoutMs) {
      return new Promise<void>((res, rej) => {
        const check = () => {
          const i = seen.indexOf(wanted, consumed);
          if (i < 0) return;
          consumed = i + 1;
          clearTimeout(timer);
          waiters.delete(check);
          res();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          rej(
            new Error(
              `no ${wanted} from ${address} [${service}] in ${timeoutMs} ms; saw ${seen.join(',')}`,
            ),
          );
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    cancel() {
      call.cancel();
      client.close();
    },
  };
}
