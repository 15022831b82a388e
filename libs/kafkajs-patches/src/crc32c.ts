/**
 * CRC-32C (Castagnoli), as Kafka record batches carry it, eight bytes per step ("slicing-by-8"):
 * several times faster than kafkajs' byte-at-a-time loop, the same value (produce-encoder.spec.ts).
 */
const POLY = 0x82f63b78; // reversed Castagnoli polynomial

const TABLES: Int32Array[] = (() => {
  const t = Array.from({ length: 8 }, () => new Int32Array(256));
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[0][n] = c;
  }
  for (let n = 0; n < 256; n++) {
    for (let s = 1; s < 8; s++) t[s][n] = (t[s - 1][n] >>> 8) ^ t[0][t[s - 1][n] & 0xff];
  }
  return t;
})();

/** Unsigned CRC-32C of `buf`. */
export function crc32c(buf: Uint8Array): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = TABLES;
  let crc = -1;
  let i = 0;
  const end8 = buf.length - (buf.length % 8);
  for (; i < end8; i += 8) {
    const a = crc ^ (buf[i] | (buf[i + 1] << 8) | (buf[i + 2] << 16) | (buf[i + 3] << 24));
    crc =
      t7[a & 0xff] ^
      t6[(a >>> 8) & 0xff] ^
      t5[(a >>> 16) & 0xff] ^
      t4[a >>> 24] ^
      t3[buf[i + 4]] ^
      t2[buf[i + 5]] ^
      t1[buf[i + 6]] ^
      t0[buf[i + 7]];
  }
  for (; i < buf.length; i++) crc = t0[(crc ^ buf[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ -1) >>> 0;
}
