/** The few XML documents OSS answers with, built as OSS builds them (no library needed). */

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** <tag>text</tag> for each field that is defined, in order. */
export function xmlFields(fields: Record<string, string | number | boolean | undefined>): string {
  return Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `<${k}>${escapeXml(String(v))}</${k}>`)
    .join('');
}

export function xmlDocument(root: string, body: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${root}>${body}</${root}>\n`;
}

export interface OssErrorBody {
  code: string;
  message: string;
  requestId: string;
  hostId: string;
  /** Extra fields OSS adds for some errors (Key, StringToSign, CanonicalRequest, ...). */
  extra?: Record<string, string>;
}

export function errorXml(e: OssErrorBody): string {
  return xmlDocument(
    'Error',
    xmlFields({
      Code: e.code,
      Message: e.message,
      RequestId: e.requestId,
      HostId: e.hostId,
      ...e.extra,
    }),
  );
}

export interface ListedObject {
  key: string;
  size: number;
  etag: string;
  lastModified: Date;
}

export interface ListV2Page {
  bucket: string;
  prefix: string;
  delimiter?: string;
  maxKeys: number;
  startAfter?: string;
  continuationToken?: string;
  nextContinuationToken?: string;
  encodingType?: string;
  objects: ListedObject[];
  commonPrefixes: string[];
}

/** ListBucketResult of ListObjectsV2, keys URL-encoded when the caller asked encoding-type=url. */
export function listV2Xml(page: ListV2Page): string {
  const enc = (s: string) => (page.encodingType === 'url' ? encodeURIComponent(s) : s);
  const head = xmlFields({
    Name: page.bucket,
    Prefix: enc(page.prefix),
    StartAfter: page.startAfter === undefined ? undefined : enc(page.startAfter),
    ContinuationToken: page.continuationToken,
    MaxKeys: page.maxKeys,
    Delimiter: page.delimiter === undefined ? undefined : enc(page.delimiter),
    EncodingType: page.encodingType,
    IsTruncated: page.nextContinuationToken !== undefined,
    NextContinuationToken: page.nextContinuationToken,
    KeyCount: page.objects.length + page.commonPrefixes.length,
  });
  const contents = page.objects
    .map(
      (o) =>
        `<Contents>${xmlFields({
          Key: enc(o.key),
          LastModified: o.lastModified.toISOString(),
          ETag: `"${o.etag}"`,
          Type: 'Normal',
          Size: o.size,
          StorageClass: 'Standard',
        })}</Contents>`,
    )
    .join('');
  const prefixes = page.commonPrefixes
    .map((p) => `<CommonPrefixes>${xmlFields({ Prefix: enc(p) })}</CommonPrefixes>`)
    .join('');
  return xmlDocument('ListBucketResult', head + contents + prefixes);
}
