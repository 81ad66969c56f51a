/**
 * The transport contract (issue #12): one suite every `Transport` implementation runs, so the
 * simulator's in-memory network is checked against what the real libp2p transport does,
 * case by case, where the node's logic depends on it. It asserts what
 * packages/core/src/transport.ts documents, nothing more (gossip order, for one, is not
 * promised and not tested).
 *
 *   describeTransportContract('libp2p', () => libp2pHarness());
 *
 * Test-only: it imports vitest, so it lives outside `src` (not built, not published, not
 * under scripts/check-purity.mjs) and is exported only under the `@roomring/source`
 * condition the test runner sets (`@roomring/core/transport-contract`).
 */
import { afterEach, beforeEach, describe, it } from 'vitest';
import type { Transport } from '../../src/transport.js';
import { CONNECTION_CASES } from './connection-cases.js';
import { GOSSIP_CASES } from './gossip-cases.js';
import type { TransportContractHarness } from './harness.js';
import type { ContractCase } from './observe.js';
import { PIPELINED_CASES } from './pipelined-cases.js';
import { REQUEST_CASES } from './request-cases.js';

export type { TransportContractHarness, TransportErrorKind } from './harness.js';

const CASES = {
  ...GOSSIP_CASES,
  ...REQUEST_CASES,
  ...PIPELINED_CASES,
  ...CONNECTION_CASES,
} satisfies Record<string, ContractCase>;

export type TransportContractCase = keyof typeof CASES;

export interface TransportContractOptions {
  /**
   * Cases this implementation is known to break, each with why. They are left out of its run
   * (not registered, not skipped: they would fail or hang); each reason should name the
   * difference and its proposed fix. Delete an entry once the implementation is fixed.
   */
  knownDifferences?: Partial<Record<TransportContractCase, string>>;
}

/** Defines `transport contract: <name>`: every case, each on a fresh harness. */
export function describeTransportContract<T extends Transport>(
  name: string,
  createHarness: () => TransportContractHarness<T> | Promise<TransportContractHarness<T>>,
  options: TransportContractOptions = {},
): void {
  const omitted = options.knownDifferences ?? {};
  for (const [id, reason] of Object.entries(omitted)) {
    if (!Object.hasOwn(CASES, id)) throw new Error(`unknown transport contract case: ${id}`);
    if (typeof reason !== 'string' || reason.trim() === '') {
      throw new Error(`known difference ${id} needs a reason`);
    }
  }
  describe(`transport contract: ${name}`, () => {
    let harness: TransportContractHarness<T> | undefined;
    beforeEach(async () => {
      harness = await createHarness();
    });
    afterEach(async () => {
      await harness?.close();
      harness = undefined;
    });
    for (const [id, contractCase] of Object.entries(CASES) as [
      TransportContractCase,
      ContractCase,
    ][]) {
      if (Object.hasOwn(omitted, id)) continue;
      it(`${contractCase.title} [${id}]`, () => contractCase.run(harness!));
    }
  });
}
