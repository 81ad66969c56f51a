/**
 * The request metrics keep each label set's children up to LABEL_CHILDREN_MAX, then pass label
 * objects as they come: either way every request is counted once under its own labels.
 */
import type { RegistryNode } from '@roomring/node';
import { describe, expect, it } from 'vitest';
import type { AdmissionController } from '../src/admission.js';
import { createMetrics, LABEL_CHILDREN_MAX } from '../src/metrics.js';

describe('request metrics', () => {
  it('counts every request under its labels, below and past the children kept', async () => {
    // Only the request metrics are read: the node and admission gauges are never collected.
    const metrics = createMetrics({} as RegistryNode, {} as AdmissionController);
    const sets = LABEL_CHILDREN_MAX + 10;
    for (let i = 0; i < sets; i++) metrics.observeRequest('CreateRoom', '/twirp', 1_000 + i, 0.001);
    for (let n = 0; n < 3; n++) {
      metrics.observeRequest('CreateRoom', '/twirp', 1_000, 0.002); // a kept child
      metrics.observeRequest('CreateRoom', '/twirp', 1_000 + sets - 1, 0.002); // past the cap
    }
    const counts = await metrics.registry.getSingleMetricAsString('roomring_http_requests_total');
    const count = (code: number) =>
      Number(
        new RegExp(
          `^roomring_http_requests_total\\{method="CreateRoom",route="/twirp",code="${code}"\\} (\\d+)$`,
          'm',
        ).exec(counts)?.[1],
      );
    expect(count(1_000)).toBe(4);
    expect(count(1_001)).toBe(1);
    expect(count(1_000 + sets - 1)).toBe(4);
    expect(counts.match(/^roomring_http_requests_total\{/gm)).toHaveLength(sets);
    const durations = await metrics.registry.getSingleMetricAsString(
      'roomring_http_request_duration_seconds',
    );
    for (const code of [1_000, 1_000 + sets - 1]) {
      expect(durations).toMatch(
        new RegExp(
          `^roomring_http_request_duration_seconds_count\\{method="CreateRoom",route="/twirp",code="${code}"\\} 4$`,
          'm',
        ),
      );
    }
  });
});
