/**
 * What if (docs/dashboard.md): remove ring members and/or add new ones, and see how many rooms
 * would move, from whom to whom, per node. The plan is the server's `/v1/whatif`, which runs
 * @roomring/whatif's planWhatIf, the same function as `roomring whatif`.
 */
import { useState } from 'preact/hooks';
import { ApiError, type Session } from '../api.js';
import type { WhatIfAnswer } from '../api-types.js';
import type { MemberRow } from '../cluster-view.js';
import { formatCount, formatPercent } from '../format.js';
import { html } from '../html.js';

/** Moving rooms listed by name, as `roomring whatif --sample` defaults. */
export const WHATIF_SAMPLE = 10;

const nameOf = (id: string | null): string => (id === null ? '(no owner)' : id);

function Plan({ plan }: { plan: WhatIfAnswer }) {
  return html`
    <div data-testid="whatif-result">
      <p>
        <strong data-testid="whatif-moved">${formatCount(plan.movedCount)}</strong>${' of '}<span data-testid="whatif-total">${formatCount(plan.roomCount)}</span>${` rooms would move (${formatPercent(plan.movedFraction)}); ring members ${plan.ringMembersBefore} → ${plan.ringMembersAfter}, checksum `}<code>${plan.ringChecksum.computed}</code>${' → '}<code>${plan.ringChecksum.after}</code>.
      </p>
      ${!plan.ringChecksum.match ? html`<p class="warn">The node's live ring checksum is ${plan.ringChecksum.live}, not ${plan.ringChecksum.computed}: the membership changed while planning.</p>` : null}
      ${!plan.roomsComplete ? html`<p class="warn">Planned over the first 100,000 rooms only.</p>` : null}
      ${
        plan.pairs.length > 0
          ? html`<table class="grid" data-testid="whatif-pairs">
              <thead><tr><th>from</th><th>to</th><th class="num">rooms</th></tr></thead>
              <tbody>${plan.pairs.map(
                (
                  p,
                ) => html`<tr data-from=${nameOf(p.from)} data-to=${nameOf(p.to)} data-count=${p.count}>
                  <td>${nameOf(p.from)}</td><td>${nameOf(p.to)}</td><td class="num">${formatCount(p.count)}</td></tr>`,
              )}</tbody>
            </table>`
          : null
      }
      <table class="grid" data-testid="whatif-nodes">
        <thead><tr><th>node</th><th class="num">owns now</th><th class="num">owns after</th><th class="num">loses</th><th class="num">gains</th></tr></thead>
        <tbody>${plan.nodes.map(
          (
            n,
          ) => html`<tr data-node=${n.nodeId} data-before=${n.ownedBefore} data-after=${n.ownedAfter} data-lost=${n.lost} data-gained=${n.gained}>
            <td>${n.nodeId}</td><td class="num">${formatCount(n.ownedBefore)}</td><td class="num">${formatCount(n.ownedAfter)}</td>
            <td class="num">${formatCount(n.lost)}</td><td class="num">${formatCount(n.gained)}</td></tr>`,
        )}</tbody>
      </table>
      ${
        plan.sample.length > 0
          ? html`<p class="muted">First ${plan.sample.length} moving rooms:</p>
            <ul class="sample">${plan.sample.map((s) => html`<li><code>${s.name}</code> (${s.homeRegion}): ${nameOf(s.from)} → ${nameOf(s.to)}</li>`)}</ul>`
          : null
      }
    </div>`;
}

export function WhatIf({
  session,
  members,
}: {
  session: Session;
  members: MemberRow[] | undefined;
}) {
  const [remove, setRemove] = useState<ReadonlySet<string>>(new Set());
  const [add, setAdd] = useState('');
  const [plan, setPlan] = useState<WhatIfAnswer | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const onRing = (members ?? [])
    .filter((m) => m.state === 'alive' || m.state === 'suspect')
    .sort((a, b) => (a.nodeId < b.nodeId ? -1 : 1));

  const toggle = (id: string) => {
    const next = new Set(remove);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setRemove(next);
  };
  const run = async (event: Event) => {
    event.preventDefault();
    setError(undefined);
    const params = new URLSearchParams({ sample: String(WHATIF_SAMPLE) });
    for (const id of remove) params.append('remove', id);
    for (const spec of add.split(/[\s,]+/).filter((s) => s !== '')) params.append('add', spec);
    if (!params.has('remove') && !params.has('add')) {
      setError('Pick a member to remove and/or give one to add as NODE@REGION[:weight].');
      return;
    }
    setBusy(true);
    try {
      setPlan(await session.get<WhatIfAnswer>('v1/whatif', params));
    } catch (e) {
      setPlan(undefined);
      setError(e instanceof ApiError ? e.failure.message : (e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return html`
    <section class="card wide" data-testid="whatif">
      <h2>What if…</h2>
      <form class="whatif" onSubmit=${run}>
        <fieldset>
          <legend>remove</legend>
          ${onRing.map(
            (m) => html`<label class="check"><input type="checkbox" name="remove" value=${m.nodeId}
              checked=${remove.has(m.nodeId)} onChange=${() => toggle(m.nodeId)} /> ${m.nodeId} <span class="muted">(${m.region})</span></label>`,
          )}
        </fieldset>
        <label>add (NODE@REGION[:weight], several separated by spaces)
          <input name="add" placeholder="eu-3@eu-central:2" value=${add}
            onInput=${(e: Event) => setAdd((e.target as HTMLInputElement).value)} />
        </label>
        <button type="submit" class="primary" disabled=${busy}>${busy ? 'Planning…' : 'Plan'}</button>
      </form>
      ${error ? html`<p class="error" role="alert">${error}</p>` : null}
      ${plan ? html`<${Plan} plan=${plan} />` : null}
    </section>`;
}
