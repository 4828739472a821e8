import { describe, expect, it } from 'vitest';
import { LoadedMessageSchema } from './loaded-message.js';

const format = { encoding: 'pickle', pickle: 5, python: '3.11', beancount: '2.3.5', codec: 1 };

describe('LoadedMessageSchema', () => {
  it('accepts the loader\'s message and refuses other shapes', () => {
    expect(LoadedMessageSchema.safeParse({ type: 'loaded', format, count: 2, data: 'gAWV' }).success).toBe(true);
    expect(LoadedMessageSchema.safeParse({ type: 'loaded', format: { ...format, encoding: 'marshal' }, count: 2, data: '' }).success).toBe(false);
    expect(LoadedMessageSchema.safeParse({ type: 'loaded', format, count: -1, data: '' }).success).toBe(false);
    expect(LoadedMessageSchema.safeParse({ type: 'loaded', format, count: 1, data: 1 }).success).toBe(false);
    expect(LoadedMessageSchema.safeParse({ type: 'loaded', format, count: 1, data: '', extra: 1 }).success).toBe(false);
  });
});
