import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { budgets: { clientGzipBytes: number } };
const gzipSize = (file: string) => gzipSync(readFileSync(new URL(`../../static/${file}`, import.meta.url)), { level: 9 }).length;

describe('client size budget (package.json "budgets")', () => {
  it('keeps the built JS and CSS within the gzip budget', () => {
    const total = gzipSize('app.js') + gzipSize('app.css');
    expect(total).toBeGreaterThan(1_000);
    expect(total).toBeLessThanOrEqual(pkg.budgets.clientGzipBytes);
  });
});
