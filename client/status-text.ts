/**
 * The agreement line in words ("All 3 members see the same list"), for the
 * page's status bar and the terminal client alike. Pure.
 */
import type { Agreement } from './roster';

export function agreementText(a: Agreement): { text: string; isAlarm: boolean } {
  switch (a.kind) {
    case 'same': return { text: a.count === 1 ? 'Only you are here' : `All ${a.count} members see the same list`, isAlarm: false };
    case 'checking': return { text: 'Checking that everyone sees the same list…', isAlarm: false };
    case 'silent': return { text: `Not heard from ${a.who.join(', ')} lately: their messages may be withheld`, isAlarm: true };
    case 'different': return {
      text: a.who.map((w) => `${w.label} sees a different list: ${[...w.plus.map((p) => `+${p}`), ...w.minus.map((m) => `−${m}`)].join(', ')}`).join('; '),
      isAlarm: true,
    };
  }
}
