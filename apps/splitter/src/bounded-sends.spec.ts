import type { Message } from 'kafkajs';
import { boundedSends, headerBytes, messageBytes, SEND_BUDGET_BYTES } from './bounded-sends';

const msg = (bytes: number, key = 'k'): Message => ({ key, value: Buffer.alloc(bytes, 'x') });

describe('boundedSends', () => {
  it('keeps a small batch as one send, topics in order, empty topics dropped', () => {
    const out = boundedSends([
      { topic: 'a', messages: [msg(10), msg(20)] },
      { topic: 'dlq', messages: [] },
      { topic: 'b', messages: [msg(30)] },
    ]);
    expect(out.map((p) => p.map((t) => [t.topic, t.messages.length]))).toEqual([
      [
        ['a', 2],
        ['b', 1],
      ],
    ]);
  });

  it('splits 40 MiB into sends under the budget, order and count kept', () => {
    const messages = Array.from({ length: 40 }, (_, i) => msg(1 << 20, String(i)));
    const out = boundedSends([
      { topic: 'by-app', messages: messages.slice(0, 10) },
      { topic: 'dlq', messages: messages.slice(10) },
    ]);
    for (const part of out) {
      const bytes = part.flatMap((t) => t.messages).reduce((n, m) => n + messageBytes(m), 0);
      expect(bytes).toBeLessThanOrEqual(SEND_BUDGET_BYTES);
    }
    expect(out.length).toBe(14); // 3 messages of 1 MiB + framing per 4 MiB send
    const flat = out.flatMap((p) => p.flatMap((t) => t.messages.map((m) => [t.topic, m.key])));
    expect(flat).toEqual(messages.map((m, i) => [i < 10 ? 'by-app' : 'dlq', m.key]));
  });

  it('sends a message larger than the budget alone', () => {
    const out = boundedSends([{ topic: 't', messages: [msg(10), msg(100), msg(10)] }], 50);
    expect(out.map((p) => p[0].messages.length)).toEqual([1, 1, 1]);
  });

  it('counts keys and every header value, repeated ones included', () => {
    expect(headerBytes({ a: 'xy', b: [Buffer.from('1'), '22'], c: undefined })).toBe(
      1 + 2 + 8 + (1 + 1 + 8) + (1 + 2 + 8) + (1 + 8),
    );
    expect(messageBytes({ key: 'abc', value: null })).toBe(3 + 64);
  });
});
