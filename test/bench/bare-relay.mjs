// Baseline (a): the bare uWebSockets.js pub/sub relay — the limit. One topic per
// room; every text frame a member sends is published unchanged to the whole
// room, the sender included (as Hush relays). No validation, no state, no logs.
// Same socket settings as Hush: no compression, automatic pings, 4 MiB
// backpressure limit. Prints {"event":"listening","port":N}; SIGTERM stops it.
import uws from 'uWebSockets.js';

const PORT = Number(process.env.PORT || 0);
const app = uws.App();
let listenSocket = null;

app
  .ws('/ws/:roomId', {
    maxPayloadLength: 1 << 20,
    idleTimeout: 120,
    sendPingsAutomatically: true,
    maxBackpressure: 4 * 1024 * 1024,
    closeOnBackpressureLimit: 1,
    compression: uws.DISABLED,
    upgrade: (res, req, context) => {
      res.upgrade({ room: req.getParameter(0) ?? '' }, req.getHeader('sec-websocket-key'), req.getHeader('sec-websocket-protocol'), req.getHeader('sec-websocket-extensions'), context);
    },
    open: (ws) => ws.subscribe(ws.getUserData().room),
    message: (ws, message, isBinary) => app.publish(ws.getUserData().room, message, isBinary, false),
  })
  .listen('127.0.0.1', PORT, (socket) => {
    if (!socket) {
      console.error('bare-relay: cannot listen');
      process.exit(1);
    }
    listenSocket = socket;
    console.log(JSON.stringify({ event: 'listening', port: uws.us_socket_local_port(socket) }));
  });

process.on('SIGTERM', () => {
  if (listenSocket) uws.us_listen_socket_close(listenSocket);
  process.exit(0);
});
