import { describe, expect, it } from 'vitest';
import { parseJsonCommand, parseLine } from '../../cli/input';
import { MAX_BODY_BYTES } from '../../client/protocol';

describe('what a typed line does', () => {
  it.each([
    ['hello', { kind: 'send', body: 'hello' }],
    ['/me waves', { kind: 'send', body: '/me waves' }],
    ['//who', { kind: 'send', body: '/who' }],
    ['/who', { kind: 'who' }],
    ['/WHO', { kind: 'who' }],
    ['/verify Alice', { kind: 'verify', name: 'Alice' }],
    ['/verify  Alice #12345 ', { kind: 'verify', name: 'Alice #12345' }],
    ['/verify', { kind: 'error', text: 'Say whose code you compared, like “/verify Alice”.' }],
    ['/leave', { kind: 'leave' }],
    ['/quit', { kind: 'leave' }],
    ['/help', { kind: 'help' }],
    ['/whois Bob', { kind: 'error', text: 'There is no /whois command. Type /help for the list, or start with // to send it as text.' }],
    ['', { kind: 'none' }],
    ['   ', { kind: 'none' }],
    ['line\r', { kind: 'send', body: 'line' }],
  ])('%j → %j', (line, input) => {
    expect(parseLine(line)).toEqual(input);
  });

  it('refuses a body the protocol cannot carry, before encrypting it', () => {
    expect(parseLine('é'.repeat(MAX_BODY_BYTES / 2))).toEqual({ kind: 'send', body: 'é'.repeat(MAX_BODY_BYTES / 2) });
    expect(parseLine('é'.repeat(MAX_BODY_BYTES / 2 + 1))).toEqual({ kind: 'error', text: `Not sent: that is ${MAX_BODY_BYTES + 2} bytes, and a message holds at most ${MAX_BODY_BYTES}. Send it in parts.` });
  });
});

describe('--json commands', () => {
  it.each([
    ['{"type":"send","body":"/me waves"}', { kind: 'send', body: '/me waves' }],
    ['{"type":"send","body":"/who"}', { kind: 'send', body: '/who' }],
    ['{"type":"verify","name":"Alice"}', { kind: 'verify', name: 'Alice' }],
    ['{"type":"verify","fp":"abc"}', { kind: 'verify', name: 'abc' }],
    ['{"type":"who"}', { kind: 'who' }],
    ['{"type":"leave"}', { kind: 'leave' }],
    ['', { kind: 'none' }],
    ['hello', { kind: 'error', text: 'not a JSON command' }],
    ['[1]', { kind: 'error', text: 'a command needs a "type"' }],
    ['{"type":"send"}', { kind: 'error', text: 'send needs a "body" string' }],
    ['{"type":"send","body":7}', { kind: 'error', text: 'send needs a "body" string' }],
    ['{"type":"verify"}', { kind: 'error', text: 'verify needs a "name" (a label) or an "fp"' }],
    ['{"type":"kick","name":"Bob"}', { kind: 'error', text: 'unknown command type: use send, verify, who or leave' }],
  ])('%j → %j', (line, input) => {
    expect(parseJsonCommand(line)).toEqual(input);
  });
});
