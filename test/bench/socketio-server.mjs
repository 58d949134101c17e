// Baseline (b): a Socket.IO 4 server that broadcasts each "msg" event to its
// room, the sender included (io.in(room).emit). WebSocket transport only,
// compression off. The room comes from the handshake query (?room=<id>).
// Prints {"event":"listening","port":N}; SIGTERM stops it.
import { createServer } from 'node:http';
import { Server } from 'socket.io';

const PORT = Number(process.env.PORT || 0);
const http = createServer();
const io = new Server(http, {
  transports: ['websocket'],
  perMessageDeflate: false,
  httpCompression: false,
  serveClient: false,
  maxHttpBufferSize: 1 << 20,
});

io.on('connection', (socket) => {
  const room = String(socket.handshake.query.room ?? '');
  socket.join(room);
  socket.on('msg', (data) => io.in(room).emit('msg', data));
});

http.listen(PORT, '127.0.0.1', () => {
  console.log(JSON.stringify({ event: 'listening', port: http.address().port }));
});

process.on('SIGTERM', () => process.exit(0));
