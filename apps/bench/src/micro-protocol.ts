/**
 * Micro-benchmarks of the protocol codecs (packages/protocol).
 *
 * The records are typical: 52-character libp2p node ids, 15-35 byte names, half of them with
 * a stats report, a third with short metadata (~150-250 B each encoded). Decoding includes
 * the structural pre-scan and full validation, i.e. what a receiving node pays per message.
 * Target: 200k records/s each way, 4x the ~50k records/s that batched gossip sustains on
 * this machine (PLATFORM.md), so the codec is never the bottleneck.
 */
import {
  decodeMessage,
  decodeSnapshot,
  encodeMessage,
  encodeMessageGeneral,
  encodeSnapshot,
  estimateRecordBytes,
  type Message,
  packHlc,
  type RoomRecord,
  SID_ALPHABET,
} from '@roomring/protocol';
import { atLeast, type BenchResult, collectGarbage, measureOpsPerSec } from './harness.js';

const SUITE = 'protocol';
const BATCH_RECORDS = 100;
const RECORDS_PER_SEC_TARGET = 200_000;
const SNAPSHOT_RECORDS = 10_000;

function nodeId(i: number): string {
  let id = '12D3KooW';
  for (let k = 0; id.length < 52; k++) id += SID_ALPHABET[(i * 31 + k * 7) % SID_ALPHABET.length];
  return id;
}

function sid(i: number): string {
  let chars = '';
  for (let k = 0; k < 12; k++) chars += SID_ALPHABET[(i * 13 + k * 17) % SID_ALPHABET.length];
  return `RM_${chars}`;
}

function typicalRecord(i: number): RoomRecord {
  const createdAt = packHlc(Date.UTC(2026, 10, 29) + i * 1_000, i % 7);
  const creator = nodeId(i % 5);
  const hasStats = i % 2 === 1;
  return {
    name: `tenant-${i % 17}/room-${i * 7919}`,
    sid: sid(i),
    createdAt,
    creator,
    homeRegion: ['eu-west-1', 'us-east-1', 'ap-south-1'][i % 3]!,
    settingsAt: createdAt,
    settingsBy: creator,
    emptyTimeoutS: 300,
    departureTimeoutS: 20,
    maxParticipants: i % 4 === 0 ? 50 : 0,
    metadata: i % 3 === 0 ? `{"topic":"standup ${i}"}` : '',
    pinnedNode: '',
    statsAt: hasStats ? createdAt + 4096 * 60_000 : 0,
    statsBy: hasStats ? creator : '',
    numParticipants: hasStats ? 1 + (i % 9) : 0,
    numPublishers: hasStats ? 1 + (i % 3) : 0,
    activeRecording: false,
    everOccupied: hasStats,
    deletedAt: 0,
    deletedBy: '',
  };
}

export async function run(): Promise<BenchResult[]> {
  const records = Array.from({ length: BATCH_RECORDS }, (_, i) => typicalRecord(i));
  const batch: Message = {
    type: 'room-batch',
    origin: nodeId(1),
    seq: 1,
    sentAt: records[0]!.createdAt,
    records,
  };
  const batchBytes = encodeMessage(batch);
  const recordBytes = (batchBytes.length / BATCH_RECORDS).toFixed(0);
  const single: Message = { ...batch, records: [records[1]!] };
  const snapshotRecords = Array.from({ length: SNAPSHOT_RECORDS }, (_, i) => typicalRecord(i));
  const snapshotBytes = encodeSnapshot({ nodeId: nodeId(1), takenAt: 1, records: snapshotRecords });
  const check = (ok: boolean): void => {
    if (!ok) throw new Error('protocol bench: a decode failed');
  };
  check(decodeMessage(batchBytes).ok && decodeSnapshot(snapshotBytes).ok);

  collectGarbage();
  const encodeRate = measureOpsPerSec(() => encodeMessage(batch), BATCH_RECORDS);
  collectGarbage();
  const encodeGeneralRate = measureOpsPerSec(() => encodeMessageGeneral(batch), BATCH_RECORDS);
  collectGarbage();
  const decodeRate = measureOpsPerSec(() => check(decodeMessage(batchBytes).ok), BATCH_RECORDS);
  collectGarbage();
  const singleRate = measureOpsPerSec(() => check(decodeMessage(encodeMessage(single)).ok), 1);
  collectGarbage();
  const estimateRate = measureOpsPerSec(() => {
    for (const record of records) estimateRecordBytes(record);
  }, BATCH_RECORDS);
  collectGarbage();
  const snapshotEncodeRate = measureOpsPerSec(
    () => encodeSnapshot({ nodeId: nodeId(1), takenAt: 1, records: snapshotRecords }),
    SNAPSHOT_RECORDS,
    { rounds: 3 },
  );
  collectGarbage();
  const snapshotDecodeRate = measureOpsPerSec(
    () => check(decodeSnapshot(snapshotBytes).ok),
    SNAPSHOT_RECORDS,
    { rounds: 3 },
  );

  const note = `room-batch of ${BATCH_RECORDS} records, ${batchBytes.length} B (${recordBytes} B/record)`;
  return [
    {
      suite: SUITE,
      name: 'room-batch encode',
      value: encodeRate,
      unit: 'records/s',
      ...atLeast(encodeRate, RECORDS_PER_SEC_TARGET),
      note: `${note}; the fast path (src/room-batch-encode.ts)`,
    },
    {
      suite: SUITE,
      name: 'room-batch encode, general path (envelope of tuples, checked, msgpackr)',
      value: encodeGeneralRate,
      unit: 'records/s',
      note: `same run; the fast path is ${(encodeRate / encodeGeneralRate).toFixed(1)}x it, with the same bytes`,
    },
    {
      suite: SUITE,
      name: 'room-batch decode + validate',
      value: decodeRate,
      unit: 'records/s',
      ...atLeast(decodeRate, RECORDS_PER_SEC_TARGET),
      note,
    },
    {
      suite: SUITE,
      name: 'single-record message encode + decode',
      value: singleRate,
      unit: 'round trips/s',
      note: `${encodeMessage(single).length} B message`,
    },
    { suite: SUITE, name: 'estimateRecordBytes', value: estimateRate, unit: 'records/s' },
    {
      suite: SUITE,
      name: 'snapshot encode',
      value: snapshotEncodeRate,
      unit: 'records/s',
      note: `${SNAPSHOT_RECORDS} records, ${snapshotBytes.length} B`,
    },
    {
      suite: SUITE,
      name: 'snapshot decode + validate',
      value: snapshotDecodeRate,
      unit: 'records/s',
      note: `${SNAPSHOT_RECORDS} records`,
    },
  ];
}
