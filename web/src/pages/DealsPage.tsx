import { useEffect, useId, useRef, useState, type FormEvent } from "react";
import type { Proposal, ProposalSide } from "../api";
import { useAsync, useInterval } from "../app/hooks";
import { Link, navigate, useLocation, withQuery } from "../app/router";
import { useApi } from "../app/session";
import { Empty, ErrorMessage, ScoreRing, Spinner } from "../components/common";
import { DownloadButton } from "../components/DownloadButton";
import { ProposalActions } from "../components/ProposalActions";
import { ago, dateTime, eur, km, years } from "../format";
import { S } from "../i18n";

const LANES: { id: string; states: string[] }[] = [
  { id: "draft", states: ["draft"] },
  { id: "sent", states: ["sent"] },
  { id: "accepted", states: ["accepted"] },
  { id: "in_negotiation", states: ["in_negotiation"] },
  { id: "agreed", states: ["agreed"] },
  { id: "implemented", states: ["implemented"] },
  { id: "closed", states: ["rejected", "withdrawn", "failed"] },
];
const POLL_MS = 10_000;
const STEPS = ["draft", "sent", "accepted", "in_negotiation", "agreed", "implemented"];

function partyName(side: ProposalSide): string {
  if (side.organization) return side.organization;
  const hints = [side.sector && `${S.deals.sector} ${side.sector}`, side.distance_band].filter(Boolean).join(", ");
  return hints ? `${S.deals.anonymous} (${hints})` : S.deals.anonymous;
}

export function DealsPage() {
  const api = useApi();
  const { query, path } = useLocation();
  const openId = query.get("open");
  const list = useAsync(async () => {
    const first = await api.proposals({ limit: 200 });
    return first.items;
  }, [api]);
  useInterval(() => void list.reload(), POLL_MS);

  const items = list.data ?? [];
  const open = (id: string | null) => navigate(withQuery(path, { open: id }), { replace: !!openId && !!id });

  return (
    <div className="deals-page">
      <header className="page-head page-head-row">
        <div>
          <h1>{S.deals.title}</h1>
          <p className="muted">{S.deals.subtitle}</p>
        </div>
      </header>
      <ErrorMessage error={list.error} onRetry={() => void list.reload()} />
      {list.loading && !list.data && <Spinner />}
      {list.data && items.length === 0 && <Empty>{S.deals.empty}</Empty>}
      {items.length > 0 && <DealStats items={items} />}
      {items.length > 0 && (
        <div className="board" role="list" aria-label={S.deals.title}>
          {LANES.map((lane) => {
            const cards = items.filter((p) => lane.states.includes(p.status));
            return (
              <section key={lane.id} className={`lane lane-${lane.id}`} role="listitem" aria-labelledby={`lane-${lane.id}`}>
                <h2 id={`lane-${lane.id}`} className="lane-title">
                  {S.deals.lanes[lane.id]} <span className="count">{cards.length}</span>
                </h2>
                <ul className="lane-cards">
                  {cards.map((p) => (
                    <li key={p.id}>
                      <button type="button" className={`deal-card${openId === p.id ? " selected" : ""}`} data-proposal-id={p.id}
                        onClick={() => open(p.id)} aria-label={`${S.deals.open}: ${p.supply.resource ?? ""} → ${p.demand.resource ?? ""}`}>
                        <span className="deal-resources">
                          {p.supply.resource ?? "–"} <span className="muted">→</span> {p.demand.resource ?? "–"}
                        </span>
                        <span className="deal-party">
                          {partyName(otherSide(p))}
                        </span>
                        <span className="deal-foot">
                          <span className={`role role-${p.my_role}`}>{S.deals.roles[p.my_role] ?? p.my_role}</span>
                          {lane.id === "closed" && <span className={`state state-${p.status}`}>{S.deals.states[p.status]}</span>}
                          <span className="muted">{ago(p.updated_at)}</span>
                        </span>
                      </button>
                    </li>
                  ))}
                </ul>
              </section>
            );
          })}
        </div>
      )}
      {openId && (
        <ProposalDrawer
          id={openId}
          onClose={() => open(null)}
          onChanged={() => void list.reload()}
        />
      )}
    </div>
  );
}

function DealStats({ items }: { items: Proposal[] }) {
  const closed = new Set(["rejected", "withdrawn", "failed", "implemented"]);
  const active = items.filter((p) => !closed.has(p.status));
  const waiting = active.filter((p) => (p.allowed_for_me ?? []).length > 0 && p.status !== "draft");
  const value = active.reduce((sum, p) => sum + (p.economics?.npv_eur ?? 0), 0);
  const stats: [string, string][] = [
    [S.deals.stats.active, String(active.length)],
    [S.deals.stats.waiting, String(waiting.length)],
    [S.deals.stats.value, eur(value)],
    [S.deals.stats.closed, String(items.length - active.length)],
  ];
  return (
    <dl className="deal-stats">
      {stats.map(([label, value]) => (
        <div key={label} className="kpi">
          <dt className="kpi-label">{label}</dt>
          <dd className="kpi-value">{value}</dd>
        </div>
      ))}
    </dl>
  );
}

/** The side of the other party: the caller's organisation owns one of the two flows. */
function otherSide(p: Proposal): ProposalSide {
  // Own side is disclosed in full (it has `flow`); the other is staged.
  if (p.supply.flow && !p.demand.flow) return p.demand;
  if (p.demand.flow && !p.supply.flow) return p.supply;
  return p.supply.organization ? p.demand : p.supply;
}

function ProposalDrawer({ id, onClose, onChanged }: { id: string; onClose: () => void; onChanged: (p: Proposal) => void }) {
  const api = useApi();
  const detail = useAsync(() => api.proposal(id), [api, id]);
  const [current, setCurrent] = useState<Proposal | null>(null);
  const [comment, setComment] = useState("");
  const [commentError, setCommentError] = useState<unknown>(null);
  const [ndaError, setNdaError] = useState<unknown>(null);
  const [posting, setPosting] = useState(false);
  const commentId = useId();
  const closeRef = useRef<HTMLButtonElement>(null);
  useInterval(() => void detail.reload(), POLL_MS);

  useEffect(() => setCurrent(detail.data ?? null), [detail.data]);
  useEffect(() => {
    closeRef.current?.focus();
    const onKey = (e: KeyboardEvent) => e.key === "Escape" && onClose();
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [id, onClose]);

  const changed = (p: Proposal) => {
    setCurrent(p);
    onChanged(p);
    void detail.reload();
  };

  const postComment = async (event: FormEvent) => {
    event.preventDefault();
    if (!comment.trim()) return;
    setPosting(true);
    setCommentError(null);
    try {
      await api.commentProposal(id, comment.trim());
      setComment("");
      await detail.reload();
    } catch (err) {
      setCommentError(err);
    } finally {
      setPosting(false);
    }
  };

  const recordNda = async () => {
    setNdaError(null);
    try {
      changed(await api.recordNda(id));
    } catch (err) {
      setNdaError(err);
    }
  };

  const p = current;
  const stepIndex = p ? STEPS.indexOf(p.status) : -1;
  return (
    <div className="drawer-backdrop" onClick={(e) => e.target === e.currentTarget && onClose()}>
      <aside className="drawer" role="dialog" aria-modal="true" aria-labelledby="deal-title">
        <header className="drawer-head">
          <h2 id="deal-title">{p ? `${p.supply.resource ?? "–"} → ${p.demand.resource ?? "–"}` : S.deals.title}</h2>
          <button ref={closeRef} type="button" className="btn btn-ghost btn-small" onClick={onClose} aria-label={S.app.close}>
            ✕
          </button>
        </header>
        <ErrorMessage error={detail.error} onRetry={() => void detail.reload()} />
        {!p && !detail.error && <Spinner />}
        {p && (
          <div className="drawer-body">
            <div className="deal-status">
              <span className={`state state-${p.status}`} data-testid="deal-status">{S.deals.states[p.status] ?? p.status}</span>
              <span className={`role role-${p.my_role}`}>{S.deals.roles[p.my_role] ?? p.my_role}</span>
              {p.score != null && <ScoreRing score={p.score} size={40} />}
            </div>
            <ol className="stepper" aria-label={S.deals.history}>
              {STEPS.map((s, i) => (
                <li key={s} className={i < stepIndex ? "done" : i === stepIndex ? "current" : ""} aria-current={i === stepIndex ? "step" : undefined}>
                  {S.deals.states[s]}
                </li>
              ))}
            </ol>

            <section aria-label={S.deals.open}>
              <ProposalActions proposal={p} onChanged={changed} />
            </section>

            <div className="deal-sides">
              {(["supply", "demand"] as const).map((key) => {
                const side = p[key];
                return (
                  <div key={key} className="card deal-side">
                    <span className="side-label">{key === "supply" ? S.matches.supply : S.matches.demand}</span>
                    <strong>{side.resource ?? "–"}</strong>
                    <span>{partyName(side)}</span>
                    {side.site && side.site !== side.organization && <span className="muted">{side.site}</span>}
                    <dl className="facts">
                      {side.sector && <div><dt>{S.deals.sector}</dt><dd>{side.sector}</dd></div>}
                      {side.quantity_band && <div><dt>{S.deals.quantityBand}</dt><dd>{side.quantity_band}</dd></div>}
                      {side.distance_band && <div><dt>{S.deals.distanceBand}</dt><dd>{side.distance_band}</dd></div>}
                    </dl>
                    {(side.contacts?.length ?? 0) > 0 && (
                      <p className="muted">
                        {S.deals.contacts}: {side.contacts!.map((c) => `${c.name} <${c.email}>`).join(", ")}
                      </p>
                    )}
                  </div>
                );
              })}
            </div>
            <p className="muted">
              {p.disclosure ? S.deals.disclosure[p.disclosure] : null}{" "}
              {p.nda_recorded_at ? S.deals.ndaRecorded(dateTime(p.nda_recorded_at)) : null}
            </p>
            {!p.nda_recorded_at && ["accepted", "in_negotiation"].includes(p.status) && (p.my_role === "proposer" || p.my_role === "receiver") && (
              <button type="button" className="btn btn-ghost btn-small" onClick={() => void recordNda()}>
                {S.deals.nda}
              </button>
            )}
            <ErrorMessage error={ndaError} />
            <DownloadButton
              label={S.documents.packetPdf}
              fileName={`partner-packet-${p.id}.pdf`}
              fetch={() => api.proposalPacketPdf(p.id)}
            />
            {p.economics && (
              <dl className="kpis kpis-small">
                <div><dt>{S.matches.npv}</dt><dd>{eur(p.economics.npv_eur ?? null)}</dd></div>
                <div><dt>{S.matches.payback}</dt><dd>{years(p.economics.payback_years ?? null)}</dd></div>
                {p.distance_km != null && <div><dt>{S.matches.distance}</dt><dd>{km(p.distance_km)}</dd></div>}
              </dl>
            )}
            <p>
              <Link to={`/matches/${encodeURIComponent(p.match_id)}`}>{S.deals.viewMatch}</Link>
            </p>

            <section aria-labelledby="history-title">
              <h3 id="history-title">{S.deals.history}</h3>
              <ol className="timeline">
                {(p.history ?? []).map((h, i) => (
                  <li key={i}>
                    <span className="timeline-when">{dateTime(h.at)}</span>
                    <span>
                      {h.kind === "status" || h.to_status ? (
                        <>
                          {h.from_status ? `${S.deals.states[h.from_status] ?? h.from_status} → ` : ""}
                          <strong>{S.deals.states[h.to_status ?? ""] ?? h.to_status ?? h.kind}</strong>
                        </>
                      ) : (
                        <strong>{h.kind}</strong>
                      )}{" "}
                      <span className="muted">{S.deals.by} {h.actor}</span>
                      {h.note && <q className="note">{h.note}</q>}
                    </span>
                  </li>
                ))}
              </ol>
            </section>

            <section aria-labelledby="comments-title">
              <h3 id="comments-title">{S.deals.comments}</h3>
              {(p.comments ?? []).length === 0 && <p className="muted">{S.deals.noComments}</p>}
              <ul className="comments">
                {(p.comments ?? []).map((c, i) => (
                  <li key={i}>
                    <span className="comment-head"><strong>{c.actor}</strong> <span className="muted">{dateTime(c.at)}</span></span>
                    <p>{c.body}</p>
                  </li>
                ))}
              </ul>
              <form className="comment-form" onSubmit={postComment}>
                <label htmlFor={commentId}>{S.deals.comment}</label>
                <textarea id={commentId} rows={2} value={comment} maxLength={10000} onChange={(e) => setComment(e.target.value)} />
                <button type="submit" className="btn btn-primary btn-small" disabled={posting || !comment.trim()}>
                  {S.deals.send}
                </button>
                <ErrorMessage error={commentError} />
              </form>
            </section>
          </div>
        )}
      </aside>
    </div>
  );
}
