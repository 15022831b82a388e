import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';

/**
 * grpc.health.v1.Health (grpc/grpc-proto health/v1/health.proto) as a service definition for
 * @grpc/grpc-js, with its four tiny messages encoded by hand. grpc-health-check builds the same
 * definition by parsing the .proto with protobufjs when it is loaded, which costs every service
 * ~100 ms of CPU at start-up; health-proto.spec.ts checks both against each other on the wire.
 */

export type ServingStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

export interface HealthCheckRequest {
  service: string;
}

export interface HealthCheckResponse {
  status: ServingStatus;
}

export interface HealthListResponse {
  statuses: Record<string, HealthCheckResponse>;
}

/** HealthCheckResponse.ServingStatus, by enum number. */
const STATUSES: readonly ServingStatus[] = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];

// Wire types of the protobuf encoding.
const VARINT = 0;
const I64 = 1;
const LEN = 2;
const I32 = 5;

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}

function lenField(field: number, bytes: Buffer): Buffer {
  return Buffer.concat([Buffer.from([(field << 3) | LEN, ...varint(bytes.length)]), bytes]);
}

/** Calls `onField` for every field of one message, whatever its number; throws on bad bytes. */
function readFields(
  buf: Buffer,
  onField: (field: number, wire: number, value: number | Buffer) => void,
): void {
  let pos = 0;
  const readVarint = (): number => {
    let n = 0;
    for (let shift = 0; ; shift += 7) {
      if (pos >= buf.length) throw new Error('truncated health message');
      const b = buf[pos++];
      // Values past 2^31 (negative enums) only matter to skip them: keep the low bits.
      if (shift < 28) n |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return n >>> 0;
    }
  };
  while (pos < buf.length) {
    const key = readVarint();
    const field = key >>> 3;
    const wire = key & 7;
    if (wire === VARINT) onField(field, wire, readVarint());
    else if (wire === LEN) {
      const len = readVarint();
      if (pos + len > buf.length) throw new Error('truncated health message');
      onField(field, wire, buf.subarray(pos, pos + len));
      pos += len;
    } else if (wire === I64 || wire === I32) pos += wire === I64 ? 8 : 4;
    else throw new Error(`unsupported wire type ${wire} in health message`);
  }
  if (pos > buf.length) throw new Error('truncated health message');
}

// Fields are written even when they hold the default value, as protobufjs does here.
export function encodeCheckRequest(req: HealthCheckRequest): Buffer {
  return lenField(1, Buffer.from(req.service, 'utf8'));
}

export function decodeCheckRequest(buf: Buffer): HealthCheckRequest {
  let service = '';
  readFields(buf, (field, wire, value) => {
    if (field === 1 && wire === LEN) service = (value as Buffer).toString('utf8');
  });
  return { service };
}

export function encodeCheckResponse(res: HealthCheckResponse): Buffer {
  return Buffer.from([(1 << 3) | VARINT, ...varint(Math.max(0, STATUSES.indexOf(res.status)))]);
}

export function decodeCheckResponse(buf: Buffer): HealthCheckResponse {
  let status: ServingStatus = 'UNKNOWN';
  readFields(buf, (field, wire, value) => {
    if (field === 1 && wire === VARINT) status = STATUSES[value as number] ?? 'UNKNOWN';
  });
  return { status };
}

export function encodeListResponse(res: HealthListResponse): Buffer {
  return Buffer.concat(
    Object.entries(res.statuses).map(([name, status]) =>
      lenField(
        1,
        Buffer.concat([
          lenField(1, Buffer.from(name, 'utf8')),
          lenField(2, encodeCheckResponse(status)),
        ]),
      ),
    ),
  );
}

export function decodeListResponse(buf: Buffer): HealthListResponse {
  const statuses: Record<string, HealthCheckResponse> = {};
  readFields(buf, (field, wire, entry) => {
    if (field !== 1 || wire !== LEN) return;
    let name = '';
    let status: HealthCheckResponse = { status: 'UNKNOWN' };
    readFields(entry as Buffer, (f, w, v) => {
      if (f === 1 && w === LEN) name = (v as Buffer).toString('utf8');
      if (f === 2 && w === LEN) status = decodeCheckResponse(v as Buffer);
    });
    statuses[name] = status;
  });
  return { statuses };
}

function method<Req, Res>(
  name: 'Check' | 'Watch' | 'List',
  responseStream: boolean,
  req: [(r: Req) => Buffer, (b: Buffer) => Req],
  res: [(r: Res) => Buffer, (b: Buffer) => Res],
): MethodDefinition<Req, Res> {
  return {
    path: `/grpc.health.v1.Health/${name}`,
    requestStream: false,
    responseStream,
    requestSerialize: req[0],
    requestDeserialize: req[1],
    responseSerialize: res[0],
    responseDeserialize: res[1],
    // Implementations and clients use the lower-case names, as with proto-loader.
    originalName: name.toLowerCase(),
  };
}

const checkRequest: [typeof encodeCheckRequest, typeof decodeCheckRequest] = [
  encodeCheckRequest,
  decodeCheckRequest,
];
const checkResponse: [typeof encodeCheckResponse, typeof decodeCheckResponse] = [
  encodeCheckResponse,
  decodeCheckResponse,
];

export const healthService: ServiceDefinition = {
  Check: method('Check', false, checkRequest, checkResponse),
  Watch: method('Watch', true, checkRequest, checkResponse),
  List: method<object, HealthListResponse>(
    'List',
    false,
    [() => Buffer.alloc(0), () => ({})],
    [encodeListResponse, decodeListResponse],
  ),
};
