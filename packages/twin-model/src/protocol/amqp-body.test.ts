import { describe, expect, it } from 'vitest';
import { amqpBodyText } from '@twinkit/twin-model/protocol';

const bytes = (text: string) => new TextEncoder().encode(text);

describe('amqpBodyText', () => {
  it('reads one data section, several data sections, a string and bare bytes', () => {
    expect(amqpBodyText({ content: bytes('{"a":1}') })).toBe('{"a":1}');
    expect(
      amqpBodyText({ content: [bytes('{"a":'), bytes('"é"}')], multiple: true, typecode: 0x75 }),
    ).toBe('{"a":"é"}');
    expect(amqpBodyText(' ')).toBe(' ');
    expect(amqpBodyText(bytes('{}'))).toBe('{}');
  });

  it('gives undefined for no body and for bodies of another kind', () => {
    expect(amqpBodyText(undefined)).toBeUndefined();
    expect(amqpBodyText(null)).toBeUndefined();
    expect(amqpBodyText(42)).toBeUndefined();
    expect(amqpBodyText({ other: 1 })).toBeUndefined();
  });
});
