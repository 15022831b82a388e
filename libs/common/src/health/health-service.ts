import { Server, ServerUnaryCall, ServerWritableStream, status as grpcStatus } from '@grpc/grpc-js';
import {
  HealthCheckRequest,
  HealthCheckResponse,
  HealthListResponse,
  healthService,
  ServingStatus,
} from './health-proto';

/** List answers RESOURCE_EXHAUSTED beyond this many services, as gRPC's own implementations. */
const LIST_LIMIT = 100;

/**
 * The statuses a grpc.health.v1 server reports, by service name ('' = the whole server): Check
 * answers NOT_FOUND for an unknown name, Watch streams the current status (SERVICE_UNKNOWN for
 * an unknown name) and then every setStatus, List all of them. The behaviour of
 * grpc-health-check's HealthImplementation, without loading protobufjs (see health-proto.ts).
 */
export class HealthStatuses {
  private readonly statuses = new Map<string, ServingStatus>();
  private readonly watchers = new Map<string, Set<(s: ServingStatus) => void>>();

  constructor(initial: Record<string, ServingStatus> = {}) {
    for (const [name, status] of Object.entries(initial)) this.statuses.set(name, status);
  }

  setStatus(service: string, status: ServingStatus): void {
    this.statuses.set(service, status);
    for (const watcher of this.watchers.get(service) ?? []) watcher(status);
  }

  addToServer(server: Server): void {
    server.addService(healthService, {
      check: (
        call: ServerUnaryCall<HealthCheckRequest, HealthCheckResponse>,
        done: (err: { code: number; details: string } | null, res?: HealthCheckResponse) => void,
      ) => {
        const { service } = call.request;
        const status = this.statuses.get(service);
        if (status) done(null, { status });
        else
          done({
            code: grpcStatus.NOT_FOUND,
            details: `Health status unknown for service ${service}`,
          });
      },
      watch: (call: ServerWritableStream<HealthCheckRequest, HealthCheckResponse>) => {
        const { service } = call.request;
        const watcher = (status: ServingStatus) => void call.write({ status });
        let set = this.watchers.get(service);
        if (!set) this.watchers.set(service, (set = new Set()));
        set.add(watcher);
        call.on('cancelled', () => set.delete(watcher));
        watcher(this.statuses.get(service) ?? 'SERVICE_UNKNOWN');
      },
      list: (
        _call: ServerUnaryCall<object, HealthListResponse>,
        done: (err: { code: number; details: string } | null, res?: HealthListResponse) => void,
      ) => {
        if (this.statuses.size > LIST_LIMIT) {
          done({ code: grpcStatus.RESOURCE_EXHAUSTED, details: 'Too many services to list.' });
          return;
        }
        const statuses: HealthListResponse['statuses'] = {};
        for (const [name, status] of this.statuses) statuses[name] = { status };
        done(null, { statuses });
      },
    });
  }
}
