import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import type { KafkaConfig as KafkajsConfig, SASLOptions } from 'kafkajs';
import type { KafkaSecurityConfig } from '../config';
import { oauthBearerTokenFile } from './oauthbearer-token';

/** kafkajs' name for each SASL mechanism. */
const KAFKAJS_MECHANISM = {
  PLAIN: 'plain',
  'SCRAM-SHA-256': 'scram-sha-256',
  'SCRAM-SHA-512': 'scram-sha-512',
  OAUTHBEARER: 'oauthbearer',
} as const;

/**
 * The kafkajs `ssl` and `sasl` options for the configured security: the one place every Kafka
 * client of the project (services, health probe, CLI, bench, tests) gets them from. PEM files
 * are read here, at client creation, so a client made after a certificate rotation uses the new
 * files.
 */
export function kafkaSecurityOptions(
  security: KafkaSecurityConfig,
): Pick<KafkajsConfig, 'ssl' | 'sasl'> {
  const out: Pick<KafkajsConfig, 'ssl' | 'sasl'> = {};
  if (security.ssl) {
    const s = security.ssl;
    const tls: ConnectionOptions = {};
    if (s.caFile) tls.ca = readFileSync(s.caFile, 'utf8');
    if (s.certFile) tls.cert = readFileSync(s.certFile, 'utf8');
    if (s.keyFile) tls.key = readFileSync(s.keyFile, 'utf8');
    if (s.keyPassword) tls.passphrase = s.keyPassword;
    // Only KAFKA_SSL_ENDPOINT_IDENTIFICATION_ALGORITHM=none turns the name check off; the
    // chain is still verified against the CA.
    if (!s.checkHostname) tls.checkServerIdentity = () => undefined;
    out.ssl = tls;
  }
  if (security.sasl) out.sasl = saslOptions(security.sasl);
  return out;
}

function saslOptions(sasl: NonNullable<KafkaSecurityConfig['sasl']>): SASLOptions {
  const mechanism = KAFKAJS_MECHANISM[sasl.mechanism];
  if (mechanism === 'oauthbearer') {
    const token = oauthBearerTokenFile(sasl.tokenFile!);
    return { mechanism, oauthBearerProvider: () => token.current() };
  }
  return { mechanism, username: sasl.username!, password: sasl.password! };
}
