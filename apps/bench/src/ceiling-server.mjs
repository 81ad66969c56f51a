// The HTTP ceiling: a bare node:http server that reads the request and answers a fixed body
// (a Room JSON as roomring answers it). Plain JavaScript, no loader: nothing between the
// socket and the answer but Node itself. Prints `ready <port>` once listening.
import { createServer } from 'node:http';

const body = Buffer.from(process.argv[2] ?? '{}');
const server = createServer((req, res) => {
  req.on('data', () => {});
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
  });
});
server.listen(0, '127.0.0.1', () => {
  console.log(`ready ${server.address().port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
