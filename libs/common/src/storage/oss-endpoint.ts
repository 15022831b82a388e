import { isIP } from 'node:net';
import { StoreConfig } from '../config';

export type OssConfig = NonNullable<StoreConfig['oss']>;

/** How ali-oss must be set up to reach one endpoint. */
export interface OssAddressing {
  endpoint: string;
  secure: boolean;
  /** ali-oss's form of the region ('oss-cn-hangzhou'); undefined leaves ali-oss's default. */
  region?: string;
  /**
   * True when the endpoint host already is the bucket's address. ali-oss otherwise prepends
   * '<bucket>.' to the host (virtual-host style), which only resolves for *.aliyuncs.com. For an
   * IP endpoint ali-oss itself keeps the IP and sends 'Host: <bucket>.<region>.aliyuncs.com'.
   */
  cname: boolean;
}

/**
 * Addressing for an endpoint. V4 signing puts the region into every signature, so it must be
 * known: OSS_REGION, or the one in an endpoint such as https://oss-cn-hangzhou.aliyuncs.com.
 */
export function ossAddressing(config: OssConfig, signatureVersion: 1 | 4): OssAddressing {
  const url = new URL(config.endpoint);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`OSS_ENDPOINT must be an http(s) URL, got ${config.endpoint}`);
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const aliyun = /\.aliyuncs\.com$/i.test(host);
  const region = standardRegion(config.region) ?? (aliyun ? regionOfAliyunHost(host) : undefined);
  if (region === undefined && signatureVersion === 4) {
    throw new Error(
      `OSS_REGION is required to sign requests (V4) to ${config.endpoint}: set it to the bucket's region id, e.g. cn-hangzhou`,
    );
  }
  return {
    endpoint: config.endpoint,
    secure: url.protocol === 'https:',
    region: region === undefined ? undefined : `oss-${region}`,
    cname: !aliyun && isIP(host) === 0,
  };
}

/** 'cn-hangzhou' from 'cn-hangzhou' or 'oss-cn-hangzhou'. */
function standardRegion(region: string | undefined): string | undefined {
  return region?.trim().replace(/^oss-/, '') || undefined;
}

/** 'cn-hangzhou' from oss-cn-hangzhou.aliyuncs.com, oss-cn-hangzhou-internal.aliyuncs.com, ... */
function regionOfAliyunHost(host: string): string | undefined {
  return /(?:^|\.)oss-([a-z0-9-]+?)(?:-internal)?\.aliyuncs\.com$/i.exec(host)?.[1]?.toLowerCase();
}
