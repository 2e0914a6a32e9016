// Makes golden captures of one node-spdy session (plain SPDY/3.1, no TLS):
// a node-spdy server and client talk through a recording TCP relay on
// 127.0.0.1, which writes each direction's raw bytes to a file.
//
// usage: node capture.js OUT_DIR
'use strict';

const fs = require('fs');
const net = require('net');
const path = require('path');
const http = require('http');
const spdy = require('spdy');

const outDir = process.argv[2] || '.';
const deadline = setTimeout(() => {
  console.error('capture did not finish within 10 s');
  process.exit(1);
}, 10000);

const server = spdy.createServer(
  { spdy: { plain: true, ssl: false, protocols: ['spdy/3.1'] } },
  (req, res) => {
    let body = '';
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => {
      res.setHeader('content-type', 'text/plain');
      res.setHeader('x-request-path', req.url);
      res.end(`you asked for ${req.method} ${req.url} with ${body.length} body bytes\n`);
    });
  }
);

server.listen(0, '127.0.0.1', () => {
  const upstream = server.address().port;
  const toServer = [];
  const toClient = [];
  const relay = net.createServer((client) => {
    const conn = net.connect(upstream, '127.0.0.1');
    client.on('data', (d) => { toServer.push(d); conn.write(d); });
    conn.on('data', (d) => { toClient.push(d); client.write(d); });
    client.on('end', () => conn.end());
    conn.on('end', () => client.end());
    client.on('error', () => conn.destroy());
    conn.on('error', () => client.destroy());
  });
  relay.listen(0, '127.0.0.1', () => run(relay, toServer, toClient));
});

function request(agent, port, options, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      Object.assign({ host: '127.0.0.1', port, agent }, options),
      (res) => {
        let text = '';
        res.on('data', (c) => { text += c; });
        res.on('end', () => resolve(text));
      }
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function run(relay, toServer, toClient) {
  const port = relay.address().port;
  const agent = spdy.createAgent({
    host: '127.0.0.1',
    port,
    spdy: { plain: true, ssl: false, protocol: 'spdy/3.1' },
  });
  const headers = { 'user-agent': 'capture/1.0', accept: 'text/plain', 'x-capture': 'golden' };
  console.log(await request(agent, port, { path: '/first', headers }));
  console.log(await request(agent, port, { path: '/second?q=1', headers }));
  console.log(await request(agent, port, {
    method: 'POST', path: '/upload', headers: Object.assign({ 'content-type': 'text/plain' }, headers),
  }, 'a small request body'));
  agent.close(() => {});
  // Let the last frames drain through the relay, then write the files.
  setTimeout(() => {
    fs.writeFileSync(path.join(outDir, 'node-spdy-client-to-server.bin'), Buffer.concat(toServer));
    fs.writeFileSync(path.join(outDir, 'node-spdy-server-to-client.bin'), Buffer.concat(toClient));
    clearTimeout(deadline);
    process.exit(0);
  }, 300);
}
