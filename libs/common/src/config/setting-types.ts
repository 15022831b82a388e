import { z } from 'zod';

/** `host:port[,host:port...]` as a list; `what` names one entry in the error (broker, sentinel). */
export const hostPortList = (what: string) =>
  z
    .string()
    .min(1, `must list at least one ${what}`)
    .transform((s) => s.split(',').map((b) => b.trim()))
    .refine(
      (list) => list.every((b) => /^[^\s:]+:\d{1,5}$/.test(b)),
      'must be host:port[,host:port...]',
    );
