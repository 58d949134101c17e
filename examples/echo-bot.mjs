// A bot on Hush's bot API: answers "/roll" with a die roll and "/echo <text>"
// with the text. It is an ordinary member with fresh keys: it sees only what
// is encrypted for it, and the others see its safety code like anyone's.
//
//   node build.mjs && HUSH_LINK='https://host/#secret' node examples/echo-bot.mjs
//
// In the page, type "//roll": a leading "//" sends text that starts with a slash.
import { randomInt } from 'node:crypto';
import { joinRoom } from '../dist/hush.js';

const link = process.env.HUSH_LINK ?? process.argv[2] ?? '';
const room = joinRoom(link, { name: process.env.BOT_NAME ?? 'Dice', onError: (text) => console.error(`bot: ${text}`) });
const stop = () => void room.leave().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

for await (const event of room.events()) {
  if (event.type === 'phase') console.error(`bot: ${event.phase.kind}`);
  // Never answer itself: its own messages come back as events too.
  if (event.type !== 'message' || event.isOwn) continue;
  const [command, ...rest] = event.body.trim().split(/\s+/);
  if (command === '/roll') await room.send(`🎲 ${event.from} rolled ${randomInt(1, 7)}`);
  else if (command === '/echo' && rest.length > 0) await room.send(rest.join(' '));
}
process.exit(room.phase().kind === 'left' ? 0 : 1);
