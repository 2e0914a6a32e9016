// node-spdy as a SERVER for the Rust client (plain SPDY/3.1 on 127.0.0.1).
// Prints {"port": N} once listening; exits when stdin closes.
//
//   GET /bytes/N  N bytes of pattern(N mod 256), written with back-pressure
//   POST /echo    the request body back
//   GET /headers  the request headers as JSON
//   GET /push     pushes /pushed.css ("pushed body"), then answers "page"
'use strict';

const spdy = require('spdy');
const { pattern, deadline } = require('./interop_common');

deadline(120000, 'interop_server');

function sendBytes(res, n) {
  const body = pattern(n & 0xff, n);
  res.setHeader('content-type', 'application/octet-stream');
  res.setHeader('content-length', String(n));
  let offset = 0;
  const step = 64 * 1024;
  function pump() {
    while (offset < n) {
      const end = Math.min(offset + step, n);
      const more = res.write(body.subarray(offset, end));
      offset = end;
      if (!more) {
        res.once('drain', pump);
        return;
      }
    }
    res.end();
  }
  pump();
}

// In plain mode node-spdy cannot tell SPDY/3.1 from SPDY/3 (the frames say
// version 3), assumes SPDY/3 and never grants session-level credit, so a
// SPDY/3.1 client stalls after 64 KiB of request body. autoSpdy31 makes it
// switch to 3.1 on the client's session WINDOW_UPDATE, as with ALPN.
const server = spdy.createServer(
  { spdy: { plain: true, ssl: false, protocols: ['spdy/3.1'], connection: { autoSpdy31: true } } },
  (req, res) => {
    const bytes = /^\/bytes\/(\d+)$/.exec(req.url);
    if (bytes) {
      req.resume();
      sendBytes(res, Number(bytes[1]));
    } else if (req.url === '/echo') {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => res.end(Buffer.concat(chunks)));
    } else if (req.url === '/headers') {
      req.resume();
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(req.headers));
    } else if (req.url === '/push') {
      req.resume();
      const stream = res.push('/pushed.css', {
        request: { accept: '*/*' },
        response: { 'content-type': 'text/css' },
      });
      stream.on('error', () => {});
      stream.end('pushed body');
      res.end('page');
    } else {
      req.resume();
      res.statusCode = 404;
      res.end('not found');
    }
  }
);

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n');
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
