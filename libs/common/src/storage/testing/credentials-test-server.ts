import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { OssTestServer, TemporaryKeys } from './oss-test-server';

export interface CredentialsTestServerOptions {
  /** New keys are issued when the current ones are this old... */
  rotateEveryMs: number;
  /** ...and each set expires this long after it was issued (longer: old and new overlap). */
  lifetimeMs: number;
  /** The ECS instance's RAM role name. */
  roleName?: string;
}

/**
 * A local stand-in for every endpoint logsplit gets temporary OSS keys from, issuing keys that
 * the OssTestServer accepts: ECS instance metadata (IMDSv2 token + /latest/meta-data/ram/
 * security-credentials/<role>), a credentials URI (GET /credentials) and STS AssumeRoleWithOIDC
 * (POST /?Action=AssumeRoleWithOIDC). Keys rotate every rotateEveryMs and expire lifetimeMs after
 * issue. fail(true) makes every endpoint answer 503, as an unreachable metadata service would.
 */
export class CredentialsTestServer {
  readonly roleName: string;
  /** Every set of keys issued, oldest first. */
  readonly issued: TemporaryKeys[] = [];
  /** Requests served, by kind. */
  readonly hits = { token: 0, metadata: 0, uri: 0, sts: 0, refused: 0 };
  /** The OIDC tokens STS was given. */
  readonly oidcTokens: string[] = [];
  private issuedAt = 0;
  private failing = false;
  private readonly server: Server;

  private constructor(
    private readonly oss: OssTestServer,
    private readonly opts: CredentialsTestServerOptions,
  ) {
    this.roleName = opts.roleName ?? 'logsplit-uploader';
    this.server = createServer((req, res) => void this.handle(req, res));
  }

  static async start(
    oss: OssTestServer,
    opts: CredentialsTestServerOptions,
  ): Promise<CredentialsTestServer> {
    const s = new CredentialsTestServer(oss, opts);
    await new Promise<void>((resolve) => s.server.listen(0, '127.0.0.1', resolve));
    return s;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  fail(on: boolean): void {
    this.failing = on;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** The current keys, new ones once the current are rotateEveryMs old. */
  private current(): TemporaryKeys {
    const last = this.issued.at(-1);
    if (last && Date.now() - this.issuedAt < this.opts.rotateEveryMs) return last;
    this.issuedAt = Date.now();
    const keys = this.oss.issueTemporaryKeys(this.opts.lifetimeMs);
    this.issued.push(keys);
    return keys;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const url = new URL(req.url ?? '/', 'http://x');
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    };
    if (this.failing) {
      this.hits.refused++;
      return send(503, { Code: 'ServiceUnavailable', Message: 'down for the test' });
    }
    if (req.method === 'PUT' && url.pathname === '/latest/api/token') {
      this.hits.token++;
      return send(200, 'imds-session-token');
    }
    const rolePath = '/latest/meta-data/ram/security-credentials/';
    if (req.method === 'GET' && url.pathname.startsWith(rolePath)) {
      if (decodeURIComponent(url.pathname.slice(rolePath.length)) !== this.roleName) {
        return send(404, 'not found');
      }
      this.hits.metadata++;
      return send(200, {
        Code: 'Success',
        LastUpdated: new Date().toISOString(),
        ...this.current(),
      });
    }
    if (req.method === 'GET' && url.pathname === '/credentials') {
      this.hits.uri++;
      return send(200, { Code: 'Success', ...this.current() });
    }
    if (req.method === 'POST' && url.searchParams.get('Action') === 'AssumeRoleWithOIDC') {
      const form = new URLSearchParams(Buffer.concat(chunks).toString());
      const token = form.get('OIDCToken');
      if (!token || !form.get('RoleArn') || !form.get('OIDCProviderArn')) {
        return send(400, {
          Code: 'MissingParameter',
          Message: 'OIDCToken, RoleArn, OIDCProviderArn',
        });
      }
      this.hits.sts++;
      this.oidcTokens.push(token);
      return send(200, { RequestId: 'test', Credentials: this.current() });
    }
    send(404, { Code: 'NotFound', Message: `${req.method} ${url.pathname}` });
  }
}
