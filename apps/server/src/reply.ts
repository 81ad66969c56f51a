/**
 * Writing answers. Bodies go out as Buffers so fastify keeps our Content-Type exactly: the
 * Node SDK decodes a Twirp error only when it is `application/json` with no charset.
 */
import type { FastifyReply } from 'fastify';
import { retryAfterSeconds, type TwirpError } from './errors.js';

export function sendTwirpError(reply: FastifyReply, error: TwirpError): FastifyReply {
  if (error.retryAfterMs !== undefined) {
    reply.header('retry-after', String(retryAfterSeconds(error.retryAfterMs)));
  }
  return reply.code(error.status).header('content-type', 'application/json').send(error.body());
}

/** 401 with a plain-text body: livekit-server's answer to a missing or bad token. */
export function sendAuthFailure(reply: FastifyReply, message: string): FastifyReply {
  return reply.code(401).header('content-type', 'text/plain; charset=utf-8').send(message);
}

export function sendJson(reply: FastifyReply, value: unknown, status = 200): FastifyReply {
  return reply
    .code(status)
    .header('content-type', 'application/json')
    .send(Buffer.from(JSON.stringify(value)));
}
