import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import { forgetSecrets, redactSecrets } from '../config/secrets';
import { kafkaSecurityOptions } from './client-security';
import { jwtExpiry, oauthBearerTokenFile, TOKEN_REFRESH_MARGIN_MS } from './oauthbearer-token';

function jwt(claims: object): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'none' })}.${part(claims)}.`;
}

describe('kafkaSecurityOptions', () => {
  let dir: string;
  beforeEach(() => {
    forgetSecrets();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'client-sec-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('adds nothing for PLAINTEXT', () => {
    expect(kafkaSecurityOptions({ protocol: 'PLAINTEXT' })).toEqual({});
  });

  it('reads the CA, client certificate and key; keeps the host name check', () => {
    for (const f of ['ca', 'cert', 'key']) fs.writeFileSync(path.join(dir, f), `${f}-pem`);
    const { ssl, sasl } = kafkaSecurityOptions({
      protocol: 'SSL',
      ssl: {
        caFile: path.join(dir, 'ca'),
        certFile: path.join(dir, 'cert'),
        keyFile: path.join(dir, 'key'),
        keyPassword: 'kp',
        checkHostname: true,
      },
    });
    expect(ssl).toEqual({ ca: 'ca-pem', cert: 'cert-pem', key: 'key-pem', passphrase: 'kp' });
    expect(sasl).toBeUndefined();
  });

  it('skips only the host name check when told to', () => {
    const { ssl } = kafkaSecurityOptions({ protocol: 'SSL', ssl: { checkHostname: false } });
    expect((ssl as ConnectionOptions).checkServerIdentity?.('h', {} as never)).toBeUndefined();
  });

  it('maps each SASL mechanism to kafkajs', () => {
    const sasl = (mechanism: 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512') =>
      kafkaSecurityOptions({
        protocol: 'SASL_SSL',
        ssl: { checkHostname: true },
        sasl: { mechanism, username: 'u', password: 'p' },
      }).sasl;
    expect(sasl('PLAIN')).toEqual({ mechanism: 'plain', username: 'u', password: 'p' });
    expect(sasl('SCRAM-SHA-256')).toMatchObject({ mechanism: 'scram-sha-256' });
    expect(sasl('SCRAM-SHA-512')).toMatchObject({ mechanism: 'scram-sha-512' });
  });

  it('gives OAUTHBEARER a provider reading the token file', async () => {
    const file = path.join(dir, 'token');
    fs.writeFileSync(file, 'opaque-token-1\n');
    const { sasl } = kafkaSecurityOptions({
      protocol: 'SASL_PLAINTEXT',
      sasl: { mechanism: 'OAUTHBEARER', tokenFile: file },
    });
    expect(sasl?.mechanism).toBe('oauthbearer');
    const provider = (sasl as { oauthBearerProvider: () => Promise<{ value: string }> })
      .oauthBearerProvider;
    expect(await provider()).toEqual({ value: 'opaque-token-1' });
  });
});

describe('oauthBearerTokenFile', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    forgetSecrets();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'token-'));
    file = path.join(dir, 'token');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads the exp of a JWT, and nothing of an opaque token', () => {
    expect(jwtExpiry(jwt({ sub: 'a', exp: 1_900_000_000 }))).toBe(1_900_000_000_000);
    expect(jwtExpiry('opaque')).toBeUndefined();
    expect(jwtExpiry('a.!!!.c')).toBeUndefined();
  });

  /** Rewrites the file with same-size content and its old mtime: a change the stamp cannot see. */
  function swapUnseen(content: string): void {
    fs.writeFileSync(file, content);
    fs.utimesSync(file, 1_000_000, 1_000_000);
  }

  it('re-reads the file when it changes, and reuses the token while it does not', async () => {
    const first = jwt({ sub: 'logsplit', exp: 2_000_000_000, jti: 'a' });
    const second = jwt({ sub: 'logsplit', exp: 2_000_000_000, jti: 'b' });
    swapUnseen(first);
    const source = oauthBearerTokenFile(file, () => 1_000_000_000_000);
    expect((await source.current()).value).toBe(first);
    expect(source.expiresAt()).toBe(2_000_000_000_000);
    swapUnseen(second);
    expect((await source.current()).value).toBe(first);

    fs.utimesSync(file, new Date(), new Date(Date.now() + 5_000));
    expect((await source.current()).value).toBe(second);
    // A refreshed token is masked in log lines like configured secrets.
    expect(redactSecrets(`token ${second}`)).toBe('token [redacted]');
  });

  it('re-reads an unchanged file once the token is about to expire', async () => {
    let now = 1_000_000_000_000;
    const exp = now / 1000 + 3600;
    swapUnseen(jwt({ sub: 'x', exp, jti: 'a' }));
    const source = oauthBearerTokenFile(file, () => now);
    await source.current();
    const renewed = jwt({ sub: 'x', exp, jti: 'b' });
    swapUnseen(renewed);
    now = exp * 1000 - TOKEN_REFRESH_MARGIN_MS - 1;
    expect((await source.current()).value).not.toBe(renewed);
    now = exp * 1000 - TOKEN_REFRESH_MARGIN_MS + 1;
    expect((await source.current()).value).toBe(renewed);
  });

  it('fails naming the setting when the file is empty', async () => {
    fs.writeFileSync(file, '\n');
    await expect(oauthBearerTokenFile(file).current()).rejects.toThrow(
      /^KAFKA_SASL_OAUTHBEARER_TOKEN_FILE: .* is empty$/,
    );
  });
});
