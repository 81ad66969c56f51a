// The fastify floor: fastify 5 with the same raw-body parser as roomring's Twirp routes,
// answering a fixed body (a Room JSON) to every POST, with no auth and no lookup. It shows
// what the framework alone costs against the bare node:http ceiling. Plain JavaScript, no
// loader. Prints `ready <port>` once listening.
import Fastify from 'fastify';

const body = Buffer.from(process.argv[2] ?? '{}');
const app = Fastify({ logger: false });
app.removeAllContentTypeParsers();
app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, raw, done) => done(null, raw));
app.all('/twirp/*', async (_request, reply) =>
  reply.code(200).header('content-type', 'application/json').send(body),
);
await app.listen({ port: 0, host: '127.0.0.1' });
console.log(`ready ${app.server.address().port}`);
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
