import { describe, expect, it } from 'vitest';
import { HELP_TEXT, actionOf, parseCommand } from '../../client/commands';

describe('what the composer does with what was typed', () => {
  it.each([
    ['hello', 'hello'],
    ['  spaced  ', '  spaced  '],
    ['/me waves', '/me waves'],
    ['/ME waves twice ', '/me waves twice'],
    ['/me   shrugs', '/me shrugs'],
    ['/me jumps\nand lands', '/me jumps\nand lands'],
    ['//shrug', '/shrug'],
    ['//me is not an action', '/me is not an action'],
    ['/usr/bin/env is a path, not a command', '/usr/bin/env is a path, not a command'],
    ['/ hi', '/ hi'],
    ['/😀', '/😀'],
    ['a /me in the middle', 'a /me in the middle'],
  ])('sends %j as the body %j', (typed, body) => {
    expect(parseCommand(typed)).toEqual({ kind: 'send', body });
  });

  it.each(['/help', '/HELP', '/help me please'])('shows help for %j, locally', (typed) => {
    expect(parseCommand(typed)).toEqual({ kind: 'help' });
  });

  it.each([
    ['/me', 'Say what you do after /me'],
    ['/me   ', 'Say what you do after /me'],
    ['/shrug', 'There is no /shrug command'],
    ['/nick Bob', 'There is no /nick command'],
  ])('explains %j instead of sending it', (typed, start) => {
    const command = parseCommand(typed);
    expect(command.kind).toBe('error');
    expect(command.kind === 'error' && command.text.startsWith(start)).toBe(true);
  });

  it('lists every command in the help, and how to send a line that starts with a slash', () => {
    for (const word of ['/me', '/help', '//', 'Shift+Enter']) expect(HELP_TEXT).toContain(word);
  });
});

describe('action lines', () => {
  it.each([
    ['/me waves', 'waves'],
    ['/me  waves', ' waves'],
    ['/me', null],
    ['/me ', null],
    ['/me    ', null],
    ['/mewaves', null],
    ['hello /me waves', null],
    ['/ME waves', null],
  ])('%j is the action %j', (body, action) => {
    expect(actionOf(body)).toBe(action);
  });
});
