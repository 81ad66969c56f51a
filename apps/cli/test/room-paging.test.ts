import type { AdminRoom, RoomringClient, RoomsFilter } from '@roomring/client';
import { describe, expect, it } from 'vitest';
import { fetchAllRooms, ROOMS_PAGE_MAX } from '../src/cluster.js';
import { member, room } from './fixtures.js';

/** A client whose `rooms()` filters like /v1/rooms, over `all`. */
function fakeClient(all: AdminRoom[]): { client: RoomringClient; filters: RoomsFilter[] } {
  const filters: RoomsFilter[] = [];
  const client = {
    rooms: async (filter: RoomsFilter = {}) => {
      filters.push(filter);
      const limit = filter.limit ?? 100;
      return all
        .filter(
          (r) =>
            (filter.region === undefined || r.homeRegion === filter.region) &&
            (filter.owner === undefined || r.owner === filter.owner),
        )
        .slice(0, limit);
    },
  } as unknown as RoomringClient;
  return { client, filters };
}

const members = [
  member('eu-1', 'eu'),
  member('eu-2', 'eu'),
  member('us-1', 'us'),
  member('us-9', 'us', { state: 'dead' }),
];

function roomsOf(owner: string, region: string, count: number): AdminRoom[] {
  return Array.from({ length: count }, (_, i) => room(`${owner}/${region}/${i}`, region, owner));
}

describe('fetchAllRooms (the admin API has no cursor)', () => {
  it('makes one request when the first page is not full', async () => {
    const { client, filters } = fakeClient(roomsOf('eu-1', 'eu', 50));
    const listing = await fetchAllRooms(client, members);
    expect(listing).toMatchObject({ complete: true, requests: 1 });
    expect(listing.rooms).toHaveLength(50);
    expect(filters).toEqual([{ limit: ROOMS_PAGE_MAX }]);
  });

  it('splits by owner, then by (owner, home region), to read more than one page', async () => {
    const all = [
      ...roomsOf('eu-1', 'eu', 6_000),
      ...roomsOf('eu-2', 'eu', 9_000),
      // eu-1 also owns failed-over us rooms: 6,000 + 5,000 > one page.
      ...roomsOf('eu-1', 'us', 5_000),
      ...roomsOf('us-1', 'us', 2_000),
    ];
    const { client, filters } = fakeClient(all);
    const listing = await fetchAllRooms(client, members);
    expect(listing.complete).toBe(true);
    expect(listing.rooms).toHaveLength(all.length);
    expect(new Set(listing.rooms.map((r) => r.name)).size).toBe(all.length);
    // 1 unfiltered + 3 ring members (the dead one is not asked) + 2 regions for eu-1.
    expect(listing.requests).toBe(6);
    expect(filters.filter((f) => f.owner === 'us-9')).toEqual([]);
  });

  it('says when one (owner, region) slice is still over a page', async () => {
    const { client } = fakeClient(roomsOf('eu-1', 'eu', ROOMS_PAGE_MAX + 5));
    const listing = await fetchAllRooms(client, members);
    expect(listing.complete).toBe(false);
    expect(listing.rooms).toHaveLength(ROOMS_PAGE_MAX);
  });
});
