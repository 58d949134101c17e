import { describe, expect, it } from 'vitest';
import { linkify, type Part } from '../../client/linkify';

const text = (t: string): Part => ({ kind: 'text', text: t });
const link = (t: string, href = t): Part => ({ kind: 'link', text: t, href });

describe('links in message text', () => {
  it.each<[string, Part[]]>([
    ['no links here', [text('no links here')]],
    ['', []],
    ['https://example.org', [link('https://example.org', 'https://example.org/')]],
    ['see https://example.org/a?b=1#c now', [text('see '), link('https://example.org/a?b=1#c'), text(' now')]],
    ['http://example.org/x.', [link('http://example.org/x'), text('.')]],
    ['(see https://en.wikipedia.org/wiki/Foo_(bar))', [text('(see '), link('https://en.wikipedia.org/wiki/Foo_(bar)'), text(')')]],
    ['“https://example.org/q”', [text('“'), link('https://example.org/q'), text('”')]],
    ['two: https://a.example/1, https://b.example/2!', [text('two: '), link('https://a.example/1'), text(', '), link('https://b.example/2'), text('!')]],
    ['HTTPS://EXAMPLE.ORG/Path', [link('HTTPS://EXAMPLE.ORG/Path', 'https://example.org/Path')]],
    ['line one\nhttps://example.org/2\nline three', [text('line one\n'), link('https://example.org/2'), text('\nline three')]],
  ])('splits %j', (input, parts) => {
    expect(linkify(input)).toEqual(parts);
  });

  it.each([
    'javascript:alert(1)',
    'javascript://example.org/%0aalert(1)',
    'data:text/html,<script>alert(1)</script>',
    'ftp://example.org/file',
    'mailto:a@example.org',
    'file:///etc/passwd',
    'vbscript:msgbox(1)',
    'https://',
    'xhttps://example.org',
    '<a href="https://example.org">x</a> is markup',
  ])('never makes a link that is not http(s) to a host, nor markup, from %j', (input) => {
    const parts = linkify(input);
    expect(parts.map((p) => p.text).join('')).toBe(input);
    for (const p of parts) if (p.kind === 'link') expect(p.href).toMatch(/^https?:\/\/[^/"<>]+/);
    expect(parts.filter((p) => p.kind === 'link').map((p) => p.text)).not.toContainEqual(expect.stringContaining('"'));
  });

  it('keeps every character of the text, in order', () => {
    const input = 'a https://x.example/(1) b http://y.example. c';
    expect(linkify(input).map((p) => p.text).join('')).toBe(input);
  });

  it('drops thousands of unmatched closing brackets in time linear in their number', () => {
    const flood = (n: number) => 'https://a.bc/' + ')'.repeat(n);
    expect(linkify(flood(3986))).toEqual([link('https://a.bc/'), text(')'.repeat(3986))]);
    /** The fastest of several batches: the least disturbed by other work on the machine. */
    const msPer = (input: string) => {
      let best = Infinity;
      for (let run = 0; run < 5; run++) {
        const started = performance.now();
        for (let i = 0; i < 10; i++) linkify(input);
        best = Math.min(best, (performance.now() - started) / 10);
      }
      return best;
    };
    const small = msPer(flood(3986));
    const large = msPer(flood(39860));
    // A message holds at most 4,000 bytes: this is the worst one, and ten of them must not slow a render.
    expect(small).toBeLessThan(5);
    // Ten times the input: about ten times the work (a recount per character would be a hundred).
    expect(large / small).toBeLessThan(20);
  });
});
