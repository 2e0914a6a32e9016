// node-spdy serving a directory over plain SPDY/3.1, as the baseline for
// spdy-client/bench/compare_node.sh. Prints {"port": N}; exits when stdin
// closes.
//
// usage: node bench_server.js ROOT
'use strict';

const fs = require('fs');
const path = require('path');
const spdy = require('spdy');

const root = path.resolve(process.argv[2] || '.');

const server = spdy.createServer(
  // autoSpdy31: see interop_server.js.
  { spdy: { plain: true, ssl: false, protocols: ['spdy/3.1'], connection: { autoSpdy31: true } } },
  (req, res) => {
    req.resume();
    const file = path.join(root, path.normalize(decodeURIComponent(req.url.split('?')[0])));
    if (!file.startsWith(root + path.sep)) {
      res.statusCode = 400;
      return res.end();
    }
    // Synchronous file calls on purpose: node-spdy aborts the stream
    // (RST_STREAM CANCEL) when a response starts in a later tick after the
    // request's FIN; reads after a 'drain' are fine.
    let fd;
    let size;
    try {
      fd = fs.openSync(file, 'r');
      size = fs.fstatSync(fd).size;
    } catch (e) {
      if (fd !== undefined) fs.closeSync(fd);
      res.statusCode = 404;
      return res.end();
    }
    res.setHeader('content-length', String(size));
    function pump() {
      for (;;) {
        const chunk = Buffer.allocUnsafe(64 * 1024);
        const n = fs.readSync(fd, chunk, 0, chunk.length, null);
        if (n === 0) {
          fs.closeSync(fd);
          return res.end();
        }
        if (!res.write(chunk.subarray(0, n))) {
          return res.once('drain', pump);
        }
      }
    }
    pump();
  }
);

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n');
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
