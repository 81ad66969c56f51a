/**
 * `roomring token`: mints an access token, as `lk token create` does: grants, a room, an
 * identity and a validity. Signed locally with --api-key/--api-secret; no node is asked.
 */
import { mintAccessToken, type TokenGrant } from '@roomring/client';
import type { Command } from 'commander';
import { durationS, roomName } from '../args.js';
import { UsageError } from '../cli-errors.js';
import { runAction } from '../run-action.js';

/** Default validity: one hour. */
export const TOKEN_VALID_FOR_DEFAULT_S = 3600;

interface TokenOptions {
  create?: boolean;
  list?: boolean;
  admin?: boolean;
  join?: boolean;
  record?: boolean;
  room?: string;
  identity?: string;
  name?: string;
  metadata?: string;
  validFor: number;
  json?: boolean;
}

/** The grants a command line asks for; a usage error when they cannot make a useful token. */
export function tokenGrant(options: Omit<TokenOptions, 'validFor' | 'json'>): TokenGrant {
  const grant: TokenGrant = {
    ...(options.create ? { roomCreate: true } : {}),
    ...(options.list ? { roomList: true } : {}),
    ...(options.admin ? { roomAdmin: true } : {}),
    ...(options.record ? { roomRecord: true } : {}),
    ...(options.join
      ? { roomJoin: true, canPublish: true, canSubscribe: true, canPublishData: true }
      : {}),
    ...(options.room !== undefined ? { room: options.room } : {}),
  };
  if (!options.create && !options.list && !options.admin && !options.join && !options.record) {
    throw new UsageError('give at least one grant: --create, --list, --admin, --join or --record');
  }
  if (options.join && (options.room === undefined || options.identity === undefined)) {
    throw new UsageError('--join needs --room and --identity (LiveKit joins a named room)');
  }
  return grant;
}

export function registerToken(program: Command): void {
  program
    .command('token')
    .description('mint an access token (like lk token create), signed with --api-key/--api-secret')
    .option('--create', 'roomCreate: CreateRoom, DeleteRoom')
    .option('--list', 'roomList: ListRooms and the admin reads')
    .option('--admin', 'roomAdmin: UpdateRoomMetadata, stats reports (scope it with --room)')
    .option('--join', 'roomJoin with publish and subscribe (for a LiveKit media server)')
    .option('--record', 'roomRecord')
    .option('--room <name>', 'the room the grants apply to', roomName)
    .option('--identity <id>', 'participant identity (sub)')
    .option('--name <name>', 'participant name')
    .option('--metadata <text>', 'participant metadata')
    .option(
      '--valid-for <duration>',
      'validity: 90s, 10m, 6h, 7d (default 1h)',
      durationS,
      TOKEN_VALID_FOR_DEFAULT_S,
    )
    .option('--json', 'the token with its claims, as JSON')
    .action(
      runAction<TokenOptions>(async (ctx, options) => {
        const grant = tokenGrant(options);
        const nowMs = ctx.nowMs();
        const token = mintAccessToken(
          ctx.init.apiKey,
          ctx.init.apiSecret,
          grant,
          nowMs,
          options.validFor,
          {
            ...(options.identity !== undefined ? { identity: options.identity } : {}),
            ...(options.name !== undefined ? { name: options.name } : {}),
            ...(options.metadata !== undefined ? { metadata: options.metadata } : {}),
          },
        );
        if (options.json) {
          ctx.printJson({
            token,
            apiKey: ctx.init.apiKey,
            grants: grant,
            identity: options.identity ?? null,
            expiresAt: new Date((Math.floor(nowMs / 1000) + options.validFor) * 1000).toISOString(),
          });
        } else {
          ctx.print(token);
        }
        return 0;
      }),
    );
}
